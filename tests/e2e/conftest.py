"""Browser tests of the reference SPA (examples/spa/): Playwright for Python driving Debian's Chromium.

One server for the module's tests: gunicorn with DEBUG on (the SPA is served at ``/example/``) on a private
Postgres, cookie mode on, emails written as files (``EMAIL_FILE_PATH``, read back by ``Mailbox``). The
browser opens ``http://localhost:<port>``: a secure context for Chromium, so the ``Secure`` refresh cookie
works over plain HTTP, as in development.

Each test gets ``browser``'s fresh contexts through ``pages``; when the test ends every page it opened is
saved as a screenshot under ``test-results/e2e/<test>/``, and when it failed, each page's console log too.

Chromium comes from Debian (``apt-get install chromium``; ``.ci/run`` installs it), never from
``playwright install``, which downloads a browser build. Without it the tests skip, except in CI.
"""

from __future__ import annotations

import email
import os
import re
import shutil
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest

from bench.client import Api
from bench.seed import migrate
from bench.server import free_port, gunicorn
from tests import fake_google
from tests.fake_google import FakeGoogle
from tests.servers import served_env

CHROMIUM = "/usr/bin/chromium"
# Headless, as root in CI (no sandbox), and quiet: this machine has no network beyond loopback, so none
# of Chromium's own background connections.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-results" / "e2e"
PASSWORD = "a long passphrase, unbreached"


class Site:
    """The served app: its base URL for the browser, an API client for set-up, its mailbox, and the Google
    stand-in it trusts (tests.fake_google)."""

    def __init__(self, port: int, mail: Path, google: FakeGoogle, database_url: str) -> None:
        self.origin = f"http://localhost:{port}"
        self.spa = f"{self.origin}/example/"
        self.api = Api(port)
        self.mail = Mailbox(mail)
        self.google = google
        self.database_url = database_url

    def sql(self, statement: str, *params) -> None:
        """One statement as the database's superuser (moving time back, as the bounded-tables run does)."""
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as connection:
            connection.execute(statement, params)

    def register(self, email: str, organization: str) -> dict:
        reply = self.api.request(
            "POST",
            "/api/auth/register/",
            {"email": email, "password": PASSWORD, "organization_name": organization},
        )
        assert reply.status == 201, reply.body
        return reply.body


class Mailbox:
    """The file backend's folder: one file per connection, messages separated by a line of dashes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def messages(self, to: str) -> list[Message]:
        found = []
        for path in sorted(self.folder.glob("*.log"), key=lambda path: path.stat().st_mtime):
            for chunk in path.read_text().split("-" * 79):
                if chunk.strip():
                    message = email.message_from_string(chunk.lstrip("\n"))
                    if to in message.get("To", ""):
                        found.append(message)
        return found

    def link(self, to: str, pattern: str) -> str:
        """The link matching ``pattern`` in the last email to ``to`` (its plain-text part, decoded)."""
        messages = self.messages(to)
        assert messages, f"no email to {to}"
        text = next(
            part.get_payload(decode=True).decode()
            for part in messages[-1].walk()
            if part.get_content_type() == "text/plain"
        )
        found = re.search(pattern, text)
        assert found, text
        return found.group(0)


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Iterator[Site]:
    from bench.server import private_postgres

    folder = tmp_path_factory.mktemp("e2e")
    postgres = private_postgres(folder)
    port = free_port()
    origin = f"http://localhost:{port}"
    try:
        with fake_google.serve() as google:
            env = served_env(
                postgres,
                EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
                EMAIL_FILE_PATH=str(folder / "mail"),
                FRONTEND_URL=f"{origin}/example",
                CORS_ALLOWED_ORIGINS=origin,
                AUTH_REFRESH_COOKIE="1",
                AUTH_REFRESH_COOKIE_ONLY="1",  # as the README recommends for a SPA: no refresh token in bodies
                GOOGLE_OAUTH_CLIENT_IDS=fake_google.CLIENT_ID,
                GOOGLE_OAUTH_CLIENT_SECRET="e2e-client-secret",
                GOOGLE_CERTS_URL=google.certs_url,
                GOOGLE_TOKEN_URL=google.token_url,
            )
            migrate(env)
            with gunicorn(env, workers=2, log_path=folder / "gunicorn.log", port=port):
                yield Site(port, folder / "mail", google, postgres.get_uri("postgres"))
    finally:
        postgres.cleanup()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip("Debian's Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.e2e_failed = report.failed
    return report


class Pages:
    """Pages of the test's browser contexts (``new(context=…)``: pages of one context share its cookies,
    like tabs; another context is another browser), with their console logs kept for the artifacts."""

    def __init__(self, browser, site: Site) -> None:
        self.browser = browser
        self.site = site
        self.contexts: dict[str, object] = {}
        self.opened: list[tuple[str, object, list[str]]] = []

    def new(
        self,
        name: str,
        *,
        context: str = "a",
        path: str = "",
        phone: bool = False,
        clock: bool = False,
        init_script: str | None = None,
    ):
        if context not in self.contexts:
            viewport = {"width": 390, "height": 844} if phone else {"width": 1024, "height": 720}
            self.contexts[context] = self.browser.new_context(viewport=viewport)
        page = self.contexts[context].new_page()
        if clock:
            page.clock.install()  # the page's timers run when the test says (page.clock.fast_forward)
        if init_script:
            page.add_init_script(init_script)  # runs before the page's own scripts (after the clock's)
        page.set_default_timeout(10_000)
        log: list[str] = []
        page.on("console", lambda message: log.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: log.append(f"pageerror: {error}"))
        self.opened.append((name, page, log))
        page.goto(self.site.spa + path)
        return page

    def save(self, folder: Path, *, failed: bool) -> None:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for name, page, log in self.opened:
            if not page.is_closed():
                page.screenshot(path=folder / f"{name}.png", full_page=True)
            if failed or any(line.startswith("pageerror") for line in log):
                (folder / f"{name}.console.log").write_text("\n".join(log) + "\n")
        for context in self.contexts.values():
            context.close()


@pytest.fixture
def pages(request, browser, site) -> Iterator[Pages]:
    opened = Pages(browser, site)
    yield opened
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    opened.save(ARTIFACTS / name, failed=getattr(request.node, "e2e_failed", True))
    uncaught = [line for _, _, log in opened.opened for line in log if line.startswith("pageerror")]
    assert not uncaught, f"uncaught errors in the page (console logs in {ARTIFACTS / name}): {uncaught}"


def pytest_terminal_summary(terminalreporter):
    if ARTIFACTS.exists() and any(ARTIFACTS.iterdir()):
        terminalreporter.write_line(
            f"browser tests: screenshots (and failed pages' console logs) in {ARTIFACTS}"
        )
