"""The data the benchmark runs on: a fresh, migrated database, then users and tokens made through the API.

Users are registered through the served API rather than written to the database, so they carry whatever
the service sets up on sign-up (organization, membership, tenant rows) exactly as production would.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from bench.client import Api
from bench.server import ROOT

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/authsvc_bench"


def prepare_database(url: str, *, recreate: bool) -> None:
    """Create the database if it is missing (``recreate``: drop it first), connecting as its user."""
    import psycopg  # the venv's; run.py may start under another Python and re-exec itself
    from psycopg import sql

    parts = urlsplit(url)
    name = unquote(parts.path.lstrip("/"))
    if not recreate:
        try:
            psycopg.connect(url, connect_timeout=10).close()
            return
        except psycopg.OperationalError as exc:
            if "does not exist" not in str(exc):
                raise
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
        if recreate:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def manage(env: dict[str, str], command: str, *args: str) -> str:
    """``manage.py <command>`` in a child process with ``env`` (the served app's: its roles, its apps); what
    it printed. A failure stops the run with its output."""
    result = subprocess.run(  # noqa: S603 (this interpreter, our manage.py)
        [sys.executable, "manage.py", command, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{command} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def migrate(env: dict[str, str]) -> None:
    """``manage.py migrate`` with the benchmark's environment."""
    manage(env, "migrate", "--noinput", "-v", "0")


@dataclass
class Seed:
    """Users registered through the API (one organization each, one shared password) and their tokens."""

    api: Api
    password: str
    emails: list[str]
    _next: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _api_key: tuple[str, str] | None = None
    members_org: str = ""  # the first user's org, grown by add_members

    @classmethod
    def register(cls, api: Api, count: int) -> Seed:
        """Register ``count`` users with a tag of their own, so runs against a kept database never clash."""
        tag = secrets.token_hex(4)
        password = f"bench-{secrets.token_hex(8)}-passphrase"
        emails = [f"bench-{tag}-{i}@example.com" for i in range(count)]
        for i, email in enumerate(emails):
            api.expect(
                201,
                "POST",
                "/api/auth/register/",
                {"email": email, "password": password, "organization_name": f"Bench {tag} {i}"},
            )
        return cls(api=api, password=password, emails=emails)

    def login(self, email: str | None = None) -> dict[str, Any]:
        """A token pair; without ``email`` the users take turns, spreading the per-address throttles."""
        if email is None:
            with self._lock:
                email = self.emails[self._next % len(self.emails)]
                self._next += 1
        body = {"email": email, "password": self.password}
        return self.api.expect(200, "POST", "/api/auth/login/", body)

    def api_key(self) -> tuple[str, str]:
        """(an API key of the first user's org, with the read scopes; that org's slug): made once."""
        if self._api_key is None:
            access = self.login(self.emails[0])["access"]
            created = self.api.expect(201, "POST", "/api/auth/org/api-keys/", {"name": "bench"}, token=access)
            slug = self.api.expect(200, "GET", "/api/auth/me/", token=access)["org"]["slug"]
            self._api_key = (created["key"], slug)
        return self._api_key

    def our_refresh_tokens(self, count: int) -> list[str]:
        """``count`` fresh sessions (one login each): each token heads its own rotation chain."""
        with ThreadPoolExecutor(max_workers=4) as pool:
            return [pair["refresh"] for pair in pool.map(lambda _: self.login(), range(count))]

    def stock_refresh_tokens(self, count: int) -> list[str]:
        """``count`` stock tokens, ``RefreshToken.for_user`` (each recorded as an OutstandingToken)."""
        body = {"email": self.emails[0], "count": count}
        return self.api.expect(200, "POST", "/bench/simplejwt/mint/", body)["refresh"]


MEMBERS = 25  # the org whose member list is measured: its owner and this many more


def add_members(email: str, count: int) -> str:
    """Give the organization of ``email`` ``count`` more members, written in-process (users who never
    sign in need no password, so no hashing); returns the org's id."""
    from accounts.models import User
    from tenants.models import Membership
    from tenants.policy import MembershipRole
    from tenants.rls.context import tenant_context
    from tenants.selectors import user_memberships

    owner = User.objects.get(email=email)
    org = user_memberships(user_id=owner.id)[0].org
    local, _, domain = email.partition("@")
    with tenant_context(org.id):
        for i in range(count):
            user = User.objects.create_user(email=f"{local}-member-{i}@{domain}", password=None)
            Membership.objects.create(org=org, user=user, role=MembershipRole.MEMBER)
    return str(org.id)
