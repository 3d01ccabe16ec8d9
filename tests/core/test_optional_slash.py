"""Every ``/api/`` path is served the same without its final "/" (API.md "Conventions"): no redirect, which
would lose a POST's body, and no HTML debug page; the OpenAPI schema keeps the canonical, slashed paths.
The admin keeps Django's APPEND_SLASH redirect; ``/healthz``, ``/readyz`` and the key set are as written."""

from __future__ import annotations

import json
import re
from http import HTTPStatus

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from tests.api import AUTH, bearer, login

AN_ID = "00000000-0000-4000-8000-000000000000"
CLIENT = {"REMOTE_ADDR": "192.0.2.1"}


def _operations() -> list[tuple[str, str]]:
    """The schema's /api/ operations, their path parameters filled in (built without a request, as the
    fuzz tests do: there is no database while pytest collects)."""
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    return [
        (re.sub(r"\{provider\}", "google", re.sub(r"\{\w+_id\}", AN_ID, path)), method.upper())
        for path, operations in paths.items()
        if path.startswith("/api/")
        for method in operations
    ]


SCHEMA_PATHS = list(SchemaGenerator().get_schema(request=None, public=True)["paths"])
OPERATIONS = _operations()


def call(client: APIClient, method: str, path: str):
    body = {} if method in {"POST", "PUT", "PATCH", "DELETE"} else None
    return client.generic(
        method, path, json.dumps(body) if body is not None else "", content_type="application/json", **CLIENT
    )


def shape(response):
    """What must match between the two forms: the whole body of an error; the fields of a success (a
    passkey challenge is random)."""
    body = response.json() if response.content else None
    if response.status_code < 400 and isinstance(body, dict):
        return sorted(body)
    return body


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_every_operation_answers_the_same_without_its_final_slash(path, method):
    client = APIClient()
    slashed = call(client, method, path)
    bare = call(client, method, path.removesuffix("/"))

    assert not 300 <= bare.status_code < 400, bare.headers
    assert bare.status_code == slashed.status_code, bare.content
    assert bare["Content-Type"] == slashed["Content-Type"]
    assert shape(bare) == shape(slashed)


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
def test_post_login_without_the_slash_signs_in_with_its_body(settings, user, org, debug):
    settings.DEBUG = debug

    response = APIClient().post(
        f"{AUTH}/login", {"email": "ada@example.com", "password": "correct horse battery staple"}, format="json"
    )

    assert response.status_code == HTTPStatus.OK, response.content
    assert {"access", "refresh", "user"} <= set(response.json())


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/schema", HTTPStatus.OK),
        ("GET", "/api/docs", HTTPStatus.OK),
        ("GET", "/api", HTTPStatus.NOT_FOUND),
        ("GET", "/api/nothing-here", HTTPStatus.NOT_FOUND),
        ("POST", "/api/auth/nothing-here", HTTPStatus.NOT_FOUND),
        ("DELETE", "/api/auth/sessions/not-an-id", HTTPStatus.NOT_FOUND),
        ("POST", "/api/auth/login%0A", HTTPStatus.NOT_FOUND),  # a newline: not "$" before it
    ],
)
def test_nothing_under_api_redirects(settings, method, path, status, debug):
    settings.DEBUG = debug

    response = call(APIClient(), method, path)

    assert response.status_code == status, response.content[:500]
    if status == HTTPStatus.NOT_FOUND:
        assert response.json() == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.django_db
def test_a_signed_in_call_without_the_slash_is_served(api_client, user, org):
    access = login(api_client, "ada@example.com").json()["access"]

    response = api_client.get(f"{AUTH}/me", **bearer(access))

    assert response.status_code == HTTPStatus.OK
    assert response.json()["email"] == "ada@example.com"


def test_the_schema_keeps_the_canonical_paths_only():
    assert SCHEMA_PATHS
    assert [path for path in SCHEMA_PATHS if not path.endswith("/") and path != "/.well-known/jwks.json"] == []


@pytest.mark.django_db
def test_the_admin_keeps_djangos_append_slash_redirect(client):
    response = client.get("/admin")

    assert response.status_code == HTTPStatus.MOVED_PERMANENTLY
    assert response["Location"] == "/admin/"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz/", "/.well-known/jwks.json/"])
def test_the_probes_and_the_key_set_are_exact(client, path):
    assert client.get(path).status_code == HTTPStatus.NOT_FOUND
