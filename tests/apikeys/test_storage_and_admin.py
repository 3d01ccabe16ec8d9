"""What rests in the database (the public id and a digest, never the secret), keys as tenant rows under
RLS, and the Django admin's keys (every org's, no secret or digest, a revoke action)."""

from __future__ import annotations

import json
from http import HTTPStatus

import pytest
from django.db import connection

from apikeys.models import ApiKey
from core.secrets import secret_digest
from tenants.rls.context import cross_tenant, tenant_context
from tests.api import bearer
from tests.apikeys.helpers import (
    KEY_RE,
    KEYS,
    MEMBERS,
    assert_refused,
    new_key,
    roll,
    stored,
    with_key,
)
from tests.audit.helpers import assert_no_secret_stored

CHANGELIST = "/admin/apikeys/apikey/"


def stored_keys() -> str:
    """Every column of every key row, as text (read through the cross-tenant path, raw SQL)."""
    with cross_tenant(), connection.cursor() as cursor:
        cursor.execute("SELECT * FROM apikeys_apikey")
        columns = [column.name for column in cursor.description]
        rows = [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]
    assert rows
    return json.dumps(rows, default=str)


# --- Digests only -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_only_digests_are_stored(api_client, ada_access, hank_access):
    created = [
        new_key(api_client, ada_access),
        new_key(api_client, ada_access, name="writer", scopes=["members:write"]),
        new_key(api_client, hank_access, name="globex"),
    ]
    created.append(roll(api_client, ada_access, created[0]["id"]).json())
    for body in created:  # used once each: last_used_at written
        assert api_client.get(MEMBERS, **with_key(body["key"])).status_code in (
            HTTPStatus.OK,
            HTTPStatus.FORBIDDEN,
        )

    text = stored_keys()

    assert text.count('"digest"') == 4
    for body in created:
        secret = KEY_RE.fullmatch(body["key"])["secret"]
        assert body["key"] not in text
        assert secret not in text
        assert secret[:16] not in text and secret[-16:] not in text
        row = stored(body["id"])
        assert row.digest == secret_digest(secret, purpose="api_key")
        assert len(row.digest) == 64
        assert row.public_id == KEY_RE.fullmatch(body["key"])["public_id"]
    assert_no_secret_stored(*[body["key"] for body in created])
    assert_no_secret_stored(*[KEY_RE.fullmatch(body["key"])["secret"] for body in created])


# --- Tenant rows under RLS ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_another_orgs_keys_are_not_listed(api_client, ada_access, hank_access):
    acme = new_key(api_client, ada_access, name="acme")
    globex = new_key(api_client, hank_access, name="globex")

    assert [entry["id"] for entry in api_client.get(KEYS, **bearer(ada_access)).json()] == [acme["id"]]
    assert [entry["id"] for entry in api_client.get(KEYS, **bearer(hank_access)).json()] == [globex["id"]]


@pytest.mark.django_db
def test_keys_are_tenant_rows(api_client, org, other_org, ada_access, hank_access):
    """RLS alone (no org filter) hides another org's key; without an org scope none is visible."""
    acme = new_key(api_client, ada_access, name="acme")
    globex = new_key(api_client, hank_access, name="globex")

    with tenant_context(org.id):
        assert not ApiKey.objects.filter(pk=globex["id"]).exists()
        assert [str(pk) for pk in ApiKey.objects.values_list("id", flat=True)] == [acme["id"]]
        assert ApiKey.objects.filter(pk=globex["id"]).update(revoked_at="2000-01-01T00:00:00Z") == 0
    with tenant_context(other_org.id):
        assert [str(pk) for pk in ApiKey.objects.values_list("id", flat=True)] == [globex["id"]]
    with tenant_context(None):  # (the test's transaction still carries the last request's org)
        assert ApiKey.objects.count() == 0
    assert stored(globex["id"]).revoked_at is None


@pytest.mark.django_db
def test_a_key_request_is_scoped_to_the_keys_org(api_client, org, other_org, ada_access, hank_access):
    """The authentication enters the key's org: what the request then reads is under that org's RLS."""
    globex = new_key(api_client, hank_access, name="globex")
    acme = new_key(api_client, ada_access, name="acme")

    api_client.get(
        MEMBERS, **with_key(globex["key"])
    )  # its savepoint is released into the test's transaction

    assert [str(pk) for pk in ApiKey.objects.values_list("id", flat=True)] == [globex["id"]]
    assert not ApiKey.objects.filter(pk=acme["id"]).exists()


# --- The Django admin -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_changelist_shows_every_orgs_keys_and_no_secret(
    admin_client, api_client, ada_access, hank_access
):
    acme = new_key(api_client, ada_access, name="Acme deploy")
    globex = new_key(api_client, hank_access, name="Globex sync")

    response = admin_client.get(CHANGELIST)

    assert response.status_code == HTTPStatus.OK
    assert response.context["cl"].result_count == 2
    content = response.content.decode()
    for shown in ("Acme deploy", "Globex sync", acme["prefix"], globex["prefix"], "Acme", "Globex"):
        assert shown in content
    for body in (acme, globex):
        assert body["key"] not in content
        assert KEY_RE.fullmatch(body["key"])["secret"] not in content
        assert stored(body["id"]).digest not in content
    detail = admin_client.get(f"{CHANGELIST}{acme['id']}/change/")
    assert detail.status_code == HTTPStatus.OK
    detail_content = detail.content.decode()
    assert acme["prefix"] in detail_content
    assert KEY_RE.fullmatch(acme["key"])["secret"] not in detail_content
    assert stored(acme["id"]).digest not in detail_content
    assert admin_client.get(f"{CHANGELIST}add/").status_code == HTTPStatus.FORBIDDEN


@pytest.mark.django_db
def test_the_admin_cannot_change_a_key(admin_client, api_client, ada_access):
    acme = new_key(api_client, ada_access, name="Acme deploy")

    response = admin_client.post(
        f"{CHANGELIST}{acme['id']}/change/", {"name": "renamed", "scopes": "members:write"}
    )

    assert response.status_code == HTTPStatus.FORBIDDEN
    row = stored(acme["id"])
    assert (row.name, row.scopes) == ("Acme deploy", acme["scopes"])


@pytest.mark.django_db
def test_the_changelist_is_for_staff_only(client, api_client, user, ada_access):
    new_key(api_client, ada_access)
    client.force_login(user)  # an org owner, not staff

    response = client.get(CHANGELIST)

    assert response.status_code == HTTPStatus.FOUND
    assert "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_the_admin_revokes_keys(admin_client, api_client, ada_access, hank_access):
    acme = new_key(api_client, ada_access, name="acme")
    globex = new_key(api_client, hank_access, name="globex")
    kept = new_key(api_client, ada_access, name="kept")

    response = admin_client.post(
        CHANGELIST, {"action": "revoke", "_selected_action": [acme["id"], globex["id"]]}
    )

    assert response.status_code == HTTPStatus.FOUND
    assert stored(acme["id"]).revoked_at is not None
    assert stored(globex["id"]).revoked_at is not None
    assert stored(kept["id"]).revoked_at is None
    assert_refused(api_client.get(MEMBERS, **with_key(acme["key"])))
    assert_refused(api_client.get(MEMBERS, **with_key(globex["key"])))
    assert api_client.get(MEMBERS, **with_key(kept["key"])).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_the_admins_revoke_keeps_an_earlier_revocation(admin_client, api_client, ada_access):
    acme = new_key(api_client, ada_access)
    api_client.delete(f"{KEYS}{acme['id']}/", **bearer(ada_access))
    first = stored(acme["id"]).revoked_at

    admin_client.post(CHANGELIST, {"action": "revoke", "_selected_action": [acme["id"]]})

    assert stored(acme["id"]).revoked_at == first
