"""Operational endpoints: liveness, readiness (database + RLS self-check), schema, docs, admin login."""

from __future__ import annotations

import pytest
from django.db import OperationalError

import config.views
from tests.outage import database_unreachable


@pytest.mark.django_db
def test_healthz_reports_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_needs_no_database(client):
    # No django_db mark: pytest-django raises RuntimeError on any database access.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_ok_when_database_and_rls_are_sound(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "rls": "ok"}


@pytest.mark.django_db
def test_readyz_is_unavailable_when_the_rls_self_check_fails(client, monkeypatch):
    monkeypatch.setattr(config.views, "rls_problems", lambda: ["x"])
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "rls": "failed"}  # details only in the log


@pytest.mark.django_db
def test_readyz_is_unavailable_when_the_self_check_cannot_reach_the_database(client, monkeypatch):
    def unreachable():
        raise OperationalError("connection refused")

    monkeypatch.setattr(config.views, "rls_problems", unreachable)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unreachable"}


@pytest.mark.django_db(transaction=True)
def test_readyz_is_unavailable_when_the_database_is_down(client):
    client.raise_request_exception = False
    with database_unreachable():
        response = client.get("/readyz")
    assert response.status_code == 503


@pytest.mark.django_db
def test_readyz_accepts_only_get(client):
    assert client.post("/readyz").status_code == 405


@pytest.mark.django_db
def test_openapi_schema_is_served(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"openapi" in response.content


@pytest.mark.django_db
def test_swagger_docs_are_served(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


@pytest.mark.django_db
def test_admin_login_page_is_served(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert b"authsvc administration" in response.content


def test_healthz_answers_head_requests(client):
    assert client.head("/healthz").status_code == 200


@pytest.mark.django_db
def test_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/auth/no-such-endpoint/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_debug_off_without_database_url_refuses_to_start():
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(DJANGO_DEBUG="0", DJANGO_SECRET_KEY="s" * 40, JWT_SIGNING_KEY="j" * 40)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "DATABASE_URL must be set when DJANGO_DEBUG is off" in result.stderr


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/api/auth/no-such-endpoint/",
        "/api/auth/sessions/not-a-uuid/",
        "/api/",
        "/api/auth/org/invitations/%C2%AE%0A/resend/",  # a newline in the path (found by schemathesis)
        "/api/auth/sessions/%0A/",
    ],
)
def test_unknown_api_paths_answer_json_404_with_debug_on(client, settings, path):
    settings.DEBUG = True  # runserver's default: Django would answer its HTML debug page

    response = client.get(path)

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.django_db
def test_api_paths_without_their_slash_are_served_without_a_redirect(client, settings):
    settings.DEBUG = True

    response = client.get("/api/docs")

    assert response.status_code == 200  # API.md "Conventions": no redirect (tests/core/test_optional_slash.py)
    assert b"swagger" in response.content.lower()


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
def test_the_root_points_at_the_docs_the_schema_and_with_debug_the_example(client, settings, debug):
    settings.DEBUG = debug

    response = client.get("/")

    assert response.status_code == 200
    body = response.json()
    assert body["links"]["docs"] == "/api/docs/" and body["links"]["schema"] == "/api/schema/"
    assert ("example" in body["links"]) is debug
    for url in body["links"].values():
        assert client.get(url).status_code == 200, url  # every link leads somewhere


def test_the_root_answers_get_and_head_only(client):
    assert client.post("/").status_code == 405
