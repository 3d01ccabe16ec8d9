"""Endpoints and steps of the API-key tests: create a key with a Bearer token, call with ``X-API-Key``,
read the stored rows through the cross-tenant path."""

from __future__ import annotations

import re
from http import HTTPStatus

from apikeys.models import ApiKey
from tenants.rls.context import cross_tenant
from tests.api import AUTH, bearer

KEYS = f"{AUTH}/org/api-keys/"
MEMBERS = f"{AUTH}/org/members/"
INVITATIONS = f"{AUTH}/org/invitations/"
AUDIT_LOG = f"{AUTH}/org/audit-log/"
ME = f"{AUTH}/me/"
READ_SCOPES = ["audit:read", "invitations:read", "members:read"]
ALL_SCOPES = ["audit:read", "invitations:read", "invitations:write", "members:read", "members:write"]
KEY_RE = re.compile(r"authsvc_(?P<public_id>[A-Za-z0-9]{8})_(?P<secret>[A-Za-z0-9_-]{43,})")
INVALID_KEY = {"detail": "Unknown, revoked or expired API key.", "code": "invalid_api_key"}


def key_url(key_id) -> str:
    return f"{KEYS}{key_id}/"


def roll_url(key_id) -> str:
    return f"{KEYS}{key_id}/roll/"


def member_url(profile_id) -> str:
    return f"{MEMBERS}{profile_id}/"


def with_key(key: str) -> dict[str, str]:
    """Headers for ``client.get(url, **with_key(key))``."""
    return {"HTTP_X_API_KEY": key}


def create(client, access: str, **body):
    return client.post(KEYS, {"name": "CI deploy", **body}, format="json", **bearer(access))


def new_key(client, access: str, **body) -> dict:
    """Create a key; the 201 body (with ``key``, shown this once)."""
    response = create(client, access, **body)
    assert response.status_code == HTTPStatus.CREATED, response.content
    return response.json()


def roll(client, access: str, key_id, **body):
    return client.post(roll_url(key_id), body, format="json", **bearer(access))


def revoke(client, access: str, key_id):
    return client.delete(key_url(key_id), **bearer(access))


def stored(key_id) -> ApiKey:
    with cross_tenant():
        return ApiKey.objects.get(pk=key_id)


def stored_update(key_id, **fields) -> None:
    with cross_tenant():
        assert ApiKey.objects.filter(pk=key_id).update(**fields) == 1


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["code"] == code, response.json()


def assert_refused(response) -> None:
    """401 for the key: unknown, revoked, expired or malformed alike, with a challenge."""
    assert response.status_code == HTTPStatus.UNAUTHORIZED, response.content
    assert response.json() == INVALID_KEY
    assert response["WWW-Authenticate"]
