"""Breached passwords: the shipped offline list, the operator's ``AUTH_BREACHED_PASSWORDS_FILE``, and the
optional k-anonymity range check against a Pwned-Passwords-compatible ``AUTH_PWNED_PASSWORDS_URL``
(here a fake on loopback that records what it was sent). A rejection is a 400 on the password field that
says why and never echoes the password."""

from __future__ import annotations

import gzip
import hashlib
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import django
import pytest
from django.core.checks import Error

from accounts.checks import check_breached_password_lists, check_pwned_passwords_range_api
from accounts.models import User
from accounts.validators import BREACHED_MESSAGE, SHIPPED_BREACHED_PASSWORDS, breached_passwords_file_read
from tests.api import AUTH, CommittingAPIClient, bearer, login
from tests.factories import DEFAULT_PASSWORD
from tests.magiclinks.helpers import PASSWORD_CHANGE, PASSWORD_RESET, post, request_reset_link

REGISTER = f"{AUTH}/register/"
ADA = "ada@example.com"
FINE_PASSWORD = "violet tangerine submarine 42"
SHIPPED_BREACHED = "thecakeisalie"  # in the shipped list (zxcvbn's breach-derived list), not in Django's
BREACHED_BODY = {"password": [BREACHED_MESSAGE]}
NEW_PASSWORD_BREACHED_BODY = {"new_password": [BREACHED_MESSAGE]}


def sha1_hex(password: str) -> str:
    return hashlib.sha1(password.encode()).hexdigest().upper()


def register(client, password: str, email: str = "grace@example.com"):
    body = {"email": email, "password": password, "organization_name": "Hopper Labs"}
    return client.post(REGISTER, body, format="json")


def assert_rejected_as_breached(response, password: str, body=BREACHED_BODY) -> None:
    assert response.status_code == HTTPStatus.BAD_REQUEST, response.content
    assert response.json() == body
    assert password.encode() not in response.content
    assert password.lower().encode() not in response.content


def assert_registered(response, email: str = "grace@example.com") -> None:
    assert response.status_code == HTTPStatus.CREATED, response.content
    assert User.objects.filter(email=email).exists()


@pytest.fixture
def operator_file(settings, tmp_path):
    """Write ``lines`` to a fresh file (gzip if the name ends in .gz) and point the setting at it."""

    def write(lines: list[str], name: str = "breached.txt") -> Path:
        path = tmp_path / name
        data = ("\n".join(lines) + "\n").encode()
        path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
        settings.AUTH_BREACHED_PASSWORDS_FILE = str(path)
        return path

    yield write
    breached_passwords_file_read.cache_clear()


# --- The shipped list ----------------------------------------------------------------------------------


def test_the_shipped_list_is_sorted_lower_cased_and_disjoint_from_djangos():
    django_list = Path(django.__file__).parent / "contrib/auth/common-passwords.txt.gz"
    with gzip.open(django_list, "rt") as lines:
        django_common = {line.strip() for line in lines}
    with gzip.open(SHIPPED_BREACHED_PASSWORDS, "rt") as lines:
        shipped = lines.read().splitlines()

    assert SHIPPED_BREACHED in shipped
    assert shipped == sorted(set(shipped))
    assert all(len(entry) >= 8 and entry == entry.lower() for entry in shipped)
    assert django_common.isdisjoint(shipped)
    assert SHIPPED_BREACHED_PASSWORDS.stat().st_size < 100_000


@pytest.mark.django_db
def test_register_refuses_a_shipped_breached_password_without_echoing_it(api_client):
    response = register(api_client, SHIPPED_BREACHED)

    assert_rejected_as_breached(response, SHIPPED_BREACHED)
    assert not User.objects.exists()


@pytest.mark.django_db
def test_the_shipped_list_is_compared_case_insensitively(api_client):
    response = register(api_client, "TheCakeIsALie")

    assert_rejected_as_breached(response, "TheCakeIsALie")


@pytest.mark.django_db
def test_a_fine_password_registers(api_client):
    assert_registered(register(api_client, FINE_PASSWORD))


@pytest.mark.django_db
def test_password_reset_refuses_a_breached_password_and_keeps_the_old_one(
    django_capture_on_commit_callbacks, user, org, mailoutbox
):
    client = CommittingAPIClient(django_capture_on_commit_callbacks)  # the reset mail goes out on commit
    token = request_reset_link(client, mailoutbox, ADA)

    response = post(client, PASSWORD_RESET, {"token": token, "new_password": SHIPPED_BREACHED})

    assert_rejected_as_breached(response, SHIPPED_BREACHED, NEW_PASSWORD_BREACHED_BODY)
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


@pytest.mark.django_db
def test_password_change_refuses_a_breached_password_and_keeps_the_old_one(api_client, user, org):
    access = login(api_client, ADA).json()["access"]
    body = {"current_password": DEFAULT_PASSWORD, "new_password": SHIPPED_BREACHED}

    response = post(api_client, PASSWORD_CHANGE, body, **bearer(access))

    assert_rejected_as_breached(response, SHIPPED_BREACHED, NEW_PASSWORD_BREACHED_BODY)
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


# --- The operator's file -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_operator_plaintext_line_is_refused(api_client, operator_file):
    operator_file(["saffron-lighthouse-77"])

    assert_rejected_as_breached(register(api_client, "saffron-lighthouse-77"), "saffron-lighthouse-77")


@pytest.mark.django_db
def test_an_operator_plaintext_line_is_compared_case_insensitively(api_client, operator_file):
    operator_file(["Saffron-Lighthouse-77"])

    assert_rejected_as_breached(register(api_client, "sAFFRON-lighthouse-77"), "sAFFRON-lighthouse-77")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "line",
    [
        pytest.param(sha1_hex("saffron-lighthouse-77"), id="upper-case-sha1"),
        pytest.param(sha1_hex("saffron-lighthouse-77").lower(), id="lower-case-sha1"),
        pytest.param(f"{sha1_hex('saffron-lighthouse-77')}:1423", id="sha1-with-count"),
    ],
)
def test_an_operator_sha1_line_is_refused(api_client, operator_file, line):
    operator_file(["# exported from haveibeenpwned.com", line])

    assert_rejected_as_breached(register(api_client, "saffron-lighthouse-77"), "saffron-lighthouse-77")


@pytest.mark.django_db
def test_an_operator_sha1_line_names_the_exact_password_only(api_client, operator_file):
    operator_file([f"{sha1_hex('saffron-lighthouse-77')}:3"])

    assert_registered(register(api_client, "Saffron-Lighthouse-77"))


@pytest.mark.django_db
def test_an_operator_gzip_file_is_read(api_client, operator_file):
    operator_file(["saffron-lighthouse-77", f"{sha1_hex('marble-otter-1999')}:12"], name="breached.txt.gz")

    assert_rejected_as_breached(register(api_client, "saffron-lighthouse-77"), "saffron-lighthouse-77")
    assert_rejected_as_breached(register(api_client, "marble-otter-1999"), "marble-otter-1999")


@pytest.mark.django_db
def test_operator_comments_and_blank_lines_list_nothing(api_client, operator_file):
    operator_file(["# saffron-lighthouse-77", "", "   ", "marble-otter-1999"])

    assert_registered(register(api_client, "# saffron-lighthouse-77"))


@pytest.mark.django_db
def test_the_shipped_list_still_applies_with_an_operator_file(api_client, operator_file):
    operator_file(["saffron-lighthouse-77"])

    assert_rejected_as_breached(register(api_client, SHIPPED_BREACHED), SHIPPED_BREACHED)


@pytest.mark.django_db
def test_an_unreadable_operator_file_is_logged_and_the_shipped_list_still_applies(
    api_client, settings, tmp_path, caplog
):
    settings.AUTH_BREACHED_PASSWORDS_FILE = str(tmp_path / "missing.txt")

    with caplog.at_level(logging.ERROR, logger="accounts.validators"):
        fine = register(api_client, FINE_PASSWORD)
        breached = register(api_client, SHIPPED_BREACHED, email="eve@example.com")

    assert_registered(fine)
    assert_rejected_as_breached(breached, SHIPPED_BREACHED)
    assert any("AUTH_BREACHED_PASSWORDS_FILE could not be read" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        pytest.param("missing.txt", None, id="missing"),
        pytest.param("directory", "dir", id="a-directory"),
        pytest.param("breached.txt.gz", b"not gzip at all\n", id="broken-gzip"),
    ],
)
def test_an_unreadable_operator_file_is_a_system_check_error(settings, tmp_path, name, content):
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    settings.AUTH_BREACHED_PASSWORDS_FILE = str(path)

    (error,) = check_breached_password_lists()

    assert isinstance(error, Error)
    assert error.id == "accounts.E001"
    assert error.msg.startswith("AUTH_BREACHED_PASSWORDS_FILE could not be read")


def test_a_readable_operator_file_passes_the_system_check(operator_file):
    operator_file(["saffron-lighthouse-77"])

    assert check_breached_password_lists() == []


def test_no_operator_file_passes_the_system_check(settings):
    settings.AUTH_BREACHED_PASSWORDS_FILE = ""

    assert check_breached_password_lists() == []


@pytest.mark.parametrize(
    ("url", "timeout", "ids"),
    [
        pytest.param("", 0.0, [], id="off-whatever-the-timeout"),
        pytest.param("https://api.pwnedpasswords.com/range/", 2.0, [], id="https"),
        pytest.param("api.pwnedpasswords.com/range/", 2.0, ["accounts.E003"], id="no-scheme"),
        pytest.param("ftp://mirror.example/range/", 2.0, ["accounts.E003"], id="not-http"),
        pytest.param("https://api.pwnedpasswords.com/range/", 0.0, ["accounts.E004"], id="zero-timeout"),
    ],
)
def test_the_range_api_settings_are_checked_at_start_up(settings, url, timeout, ids):
    settings.AUTH_PWNED_PASSWORDS_URL = url
    settings.AUTH_PWNED_PASSWORDS_TIMEOUT = timeout

    assert [error.id for error in check_pwned_passwords_range_api()] == ids


# --- The range check, against a fake on loopback -------------------------------------------------------


@dataclass
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]
    raw: bytes  # request line and headers as they came over the wire
    body_length: int


@dataclass
class FakePwnedPasswords:
    """A Pwned-Passwords-compatible range API: answers ``ranges[prefix]`` (or nothing listed)."""

    base_url: str = ""
    ranges: dict[str, list[str]] = field(default_factory=dict)
    status: int = 200
    raw_body: bytes | None = None  # instead of the range lines
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # before answering
    trickle: bool = False  # send the body one line every 50 ms
    seen: list[SeenRequest] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)

    def list_password(self, password: str, count: int, padding: int = 3) -> None:
        digest = sha1_hex(password)
        lines = [f"{index:035X}:0" for index in range(padding)]
        self.ranges.setdefault(digest[:5], []).extend([f"{digest[5:]}:{count}", *lines])


def _handler(fake: FakePwnedPasswords):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            fake.seen.append(
                SeenRequest(
                    method=self.command,
                    path=self.path,
                    headers=dict(self.headers.items()),
                    raw=self.raw_requestline + bytes(self.headers),
                    body_length=length,
                )
            )
            if fake.delay and fake.released.wait(fake.delay):
                return
            prefix = self.path.rsplit("/", 1)[-1]
            body = fake.raw_body
            if body is None:
                body = "\r\n".join(fake.ranges.get(prefix, [])).encode()
            self.send_response(fake.status)
            self.send_header("Content-Type", "text/plain")
            for name, value in fake.headers.items():
                self.send_header(name, value)
            if fake.trickle:
                self.send_header("Connection", "close")
                self.end_headers()
                for line in body.splitlines(keepends=True):
                    if fake.released.wait(0.05):
                        return
                    self.wfile.write(line)
                    self.wfile.flush()
                return
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        pass  # the client hanging up on a slow or oversized answer is what some tests do on purpose


@pytest.fixture
def pwned(settings):
    """The fake, with ``AUTH_PWNED_PASSWORDS_URL`` pointing at its ``/range/``."""
    fake = FakePwnedPasswords()
    server = _QuietServer(("127.0.0.1", 0), _handler(fake))
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}/range/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.AUTH_PWNED_PASSWORDS_URL = fake.base_url
    settings.AUTH_PWNED_PASSWORDS_TIMEOUT = 2.0
    yield fake
    fake.released.set()  # lets a delaying or trickling handler go
    server.shutdown()
    server.server_close()


LISTED = "quartz-pelican-harbour-8"  # in none of the offline lists


@pytest.mark.django_db
def test_the_range_check_sends_only_a_five_character_prefix(api_client, pwned):
    pwned.list_password(LISTED, count=7)

    register(api_client, LISTED)

    digest = sha1_hex(LISTED)
    (request,) = pwned.seen
    assert (request.method, request.path, request.body_length) == ("GET", f"/range/{digest[:5]}", 0)
    assert request.headers["Add-Padding"] == "true"
    assert request.headers["User-Agent"].startswith("authsvc")
    for secret in (LISTED, digest[5:], digest[5:].lower(), digest[-10:], digest[-10:].lower()):
        assert secret.encode() not in request.raw


@pytest.mark.django_db
def test_a_suffix_listed_by_the_range_api_is_refused(api_client, pwned):
    pwned.list_password(LISTED, count=7)

    response = register(api_client, LISTED)

    assert_rejected_as_breached(response, LISTED)
    assert not User.objects.exists()


@pytest.mark.django_db
def test_a_lower_case_suffix_in_the_answer_still_matches(api_client, pwned):
    digest = sha1_hex(LISTED)
    pwned.ranges[digest[:5]] = [f"{digest[5:].lower()}:2"]

    assert_rejected_as_breached(register(api_client, LISTED), LISTED)


@pytest.mark.django_db
def test_a_url_without_a_trailing_slash_gets_the_same_path(api_client, pwned, settings):
    settings.AUTH_PWNED_PASSWORDS_URL = pwned.base_url.rstrip("/")
    pwned.list_password(LISTED, count=1)

    response = register(api_client, LISTED)

    assert_rejected_as_breached(response, LISTED)
    assert [request.path for request in pwned.seen] == [f"/range/{sha1_hex(LISTED)[:5]}"]


@pytest.mark.django_db
def test_padding_lines_with_count_zero_do_not_refuse(api_client, pwned):
    pwned.list_password(LISTED, count=0, padding=800)

    assert_registered(register(api_client, LISTED))
    assert len(pwned.seen) == 1


@pytest.mark.django_db
def test_a_password_not_in_the_range_registers(api_client, pwned):
    pwned.list_password("some other password 1", count=99)

    assert_registered(register(api_client, LISTED))
    assert len(pwned.seen) == 1


@pytest.mark.django_db
def test_the_range_check_is_off_by_default(api_client, pwned, settings):
    from config import settings as defaults

    settings.AUTH_PWNED_PASSWORDS_URL = defaults.AUTH_PWNED_PASSWORDS_URL
    pwned.list_password(LISTED, count=7)

    assert defaults.AUTH_PWNED_PASSWORDS_URL == ""
    assert_registered(register(api_client, LISTED))
    assert pwned.seen == []


# Every way the range check can fail lets the password through, with a warning that carries neither the
# password nor its hash.
def _fail_with_status_500(fake, settings):
    fake.status = 500


def _fail_by_timing_out(fake, settings):
    fake.delay = 2.0
    settings.AUTH_PWNED_PASSWORDS_TIMEOUT = 0.1


def _fail_by_trickling(fake, settings):
    fake.raw_body = b"".join(f"{index:035X}:0\r\n".encode() for index in range(200))  # ~10 s at 50 ms a line
    fake.trickle = True
    settings.AUTH_PWNED_PASSWORDS_TIMEOUT = 0.3


def _fail_with_garbage(fake, settings):
    fake.raw_body = b"<html><body>Service Unavailable</body></html>"


def _fail_with_a_huge_count(fake, settings):
    # int() of thousands of digits raises (Python's integer-string limit): a hostile answer, not a 500
    fake.raw_body = f"{sha1_hex(LISTED)[5:]}:{'9' * 5000}\r\n".encode()


def _fail_with_an_oversized_answer(fake, settings):
    digest = sha1_hex(LISTED)
    padding = b"".join(f"{index:035X}:0\r\n".encode() for index in range(30_000))  # 1.2 MB
    fake.raw_body = f"{digest[5:]}:7\r\n".encode() + padding


def _fail_with_a_redirect(fake, settings):
    fake.status = 302
    fake.headers = {"Location": fake.base_url + "FFFFF"}
    fake.list_password(LISTED, count=7)


def _fail_with_the_server_down(fake, settings):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.AUTH_PWNED_PASSWORDS_URL = f"http://127.0.0.1:{port}/range/"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fail",
    [
        _fail_with_status_500,
        _fail_by_timing_out,
        _fail_by_trickling,
        _fail_with_garbage,
        _fail_with_a_huge_count,
        _fail_with_an_oversized_answer,
        _fail_with_a_redirect,
        _fail_with_the_server_down,
    ],
)
def test_a_failed_range_check_lets_sign_up_through_with_a_warning(api_client, pwned, settings, caplog, fail):
    fail(pwned, settings)
    digest = sha1_hex(LISTED)

    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="accounts.validators"):
        response = register(api_client, LISTED)
    elapsed = time.monotonic() - started

    assert_registered(response)
    assert elapsed < 1.5  # bounded by the timeout, not by the server
    (warning,) = [r for r in caplog.records if r.name == "accounts.validators"]
    assert warning.levelname == "WARNING"
    assert "range check" in warning.getMessage()
    for secret in (LISTED, digest, digest[5:], digest[:5]):
        assert secret not in warning.getMessage()


@pytest.mark.django_db
def test_a_redirect_is_not_followed(api_client, pwned):
    _fail_with_a_redirect(pwned, None)

    register(api_client, LISTED)

    assert [request.path for request in pwned.seen] == [f"/range/{sha1_hex(LISTED)[:5]}"]
