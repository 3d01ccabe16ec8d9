"""The reference SPA's serving (config.example) and the development defaults that fit it.

What it does in a browser: tests/e2e."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bench.server import ROOT


@pytest.fixture
def debug(settings):
    settings.DEBUG = True
    return settings


@pytest.mark.parametrize(
    "path", ["/example/", "/example/invite/abc", "/example/auth/magic/xyz", "/example/members"]
)
def test_every_route_of_the_spa_is_its_page(client, debug, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert b'<script type="module" src="/example/app.js">' in response.content
    assert b'<meta name="authsvc-google-client-id" content="">' in response.content  # no Google button
    assert "script-src 'self'" in response["Content-Security-Policy"]  # the same policy as the API's pages


@pytest.mark.parametrize(("path", "kind"), [("app.js", "text/javascript"), ("style.css", "text/css")])
def test_its_files_are_served_as_they_are(client, debug, path, kind):
    response = client.get(f"/example/{path}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith(kind)
    assert b"".join(response.streaming_content) == (ROOT / "examples" / "spa" / path).read_bytes()


def test_a_missing_file_is_a_404(client, debug):
    assert client.get("/example/missing.js").status_code == 404


@pytest.mark.parametrize("path", ["..%2Fpyproject.toml", "%2E%2E/manage.py", "sub/app.js", ".hidden.js"])
def test_no_other_file_is_served(client, debug, path):
    response = client.get(f"/example/{path}")
    assert response.status_code == 200
    assert response.content.startswith(b"<!doctype html>")  # the page (a route the SPA shows as not found)


def test_the_page_names_the_google_web_client(client, debug):
    debug.GOOGLE_OAUTH_CLIENT_IDS = ['web"><script>x</script>', "android"]
    response = client.get("/example/")
    assert b'content="web&quot;&gt;&lt;script&gt;x&lt;/script&gt;"' in response.content  # escaped


def test_not_served_without_debug(client):
    assert client.get("/example/").status_code == 404
    assert client.get("/example/app.js").status_code == 404
    assert client.get("/example/invite/abc").status_code == 404
    assert client.post("/example/").status_code == 404


def test_head_and_revalidation(client, debug):
    assert client.head("/example/").status_code == 200
    assert client.get("/example/")["Cache-Control"] == "no-cache"  # an edited file shows on the next load
    assert client.get("/example/auth.js")["Cache-Control"] == "no-cache"


def test_only_get_and_head(client, debug):
    assert client.post("/example/").status_code == 405


def _settings(**env: str) -> dict:
    """The settings a fresh process reads from ``env`` alone (nothing of this process's environment)."""
    script = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.FRONTEND_URL, s.CORS_ALLOWED_ORIGINS, s.AUTH_REFRESH_COOKIE, s.OAUTH_REDIRECT_URIS]))"
    )
    base = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": "postgres://x@h/db",
    }
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(zip(["frontend", "cors", "cookie", "oauth"], json.loads(done.stdout), strict=True))


def test_development_defaults_open_the_example():
    assert _settings() == {
        "frontend": "http://localhost:8000/example",
        "cors": ["http://localhost:8000", "http://127.0.0.1:8000"],
        "cookie": True,
        "oauth": ["http://localhost:8000/example/auth/google/callback"],
    }


def test_development_defaults_follow_a_frontend_url_given():
    assert _settings(FRONTEND_URL="http://localhost:3000/")["cors"] == [
        "http://localhost:3000",
        "http://127.0.0.1:3000",
    ]
    assert _settings(FRONTEND_URL="https://app.example.com", CORS_ALLOWED_ORIGINS="")["cors"] == []
    assert _settings(AUTH_REFRESH_COOKIE="0")["cookie"] is False


def test_production_defaults_are_unchanged():
    secrets = {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "s" * 40, "JWT_SIGNING_KEY": "j" * 40}
    assert _settings(**secrets) == {
        "frontend": "http://localhost:3000",
        "cors": [],
        "cookie": False,
        "oauth": ["http://localhost:3000/auth/google/callback"],
    }
