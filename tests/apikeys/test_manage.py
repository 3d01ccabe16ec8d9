"""``org/api-keys/``: admins (with a Bearer token) create, list, revoke and roll their org's keys; members
and keys themselves cannot."""

from __future__ import annotations

import uuid
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.secrets import secret_digest
from tests.api import bearer
from tests.apikeys.helpers import (
    KEY_RE,
    KEYS,
    MEMBERS,
    READ_SCOPES,
    assert_error,
    assert_refused,
    create,
    key_url,
    new_key,
    revoke,
    roll,
    roll_url,
    stored,
    with_key,
)

API_KEY_NOT_ALLOWED = "api_key_not_allowed"


# --- Create -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_owner_creates_a_key_shown_once(api_client, org, user, ada_access):
    response = create(api_client, ada_access, name="CI deploy", scopes=["members:read", "members:write"])

    assert response.status_code == HTTPStatus.CREATED, response.content
    body = response.json()
    assert {"id", "name", "prefix", "key", "scopes", "expires_at"} <= set(body)
    assert body["name"] == "CI deploy"
    assert body["scopes"] == ["members:read", "members:write"]
    assert body["expires_at"] is None
    assert body["last_used_at"] is None
    assert body["revoked_at"] is None
    assert body["active"] is True
    match = KEY_RE.fullmatch(body["key"])
    assert match, body["key"]
    assert body["prefix"] == f"authsvc_{match['public_id']}"
    assert body["key"].startswith(body["prefix"] + "_")
    key = stored(body["id"])
    assert (key.org_id, key.created_by_id, key.public_id) == (org.id, user.id, match["public_id"])
    assert key.digest == secret_digest(match["secret"], purpose="api_key")


@pytest.mark.django_db
def test_omitted_scopes_are_the_read_scopes(api_client, ada_access):
    body = new_key(api_client, ada_access)

    assert sorted(body["scopes"]) == READ_SCOPES
    assert sorted(stored(body["id"]).scopes) == READ_SCOPES


@pytest.mark.django_db
def test_an_admin_creates_a_key_with_an_expiry(api_client, org, grace_access):
    expires_at = timezone.now() + timedelta(days=30)

    body = new_key(api_client, grace_access, expires_at=expires_at.isoformat())

    assert parse_datetime(body["expires_at"]) == expires_at
    assert stored(body["id"]).expires_at == expires_at


@pytest.mark.django_db
@pytest.mark.parametrize(
    "scopes",
    [["members:read", "keys:write"], ["api_keys:write"], ["organization:write"], ["MEMBERS:READ"]],
)
def test_an_unknown_scope_is_400(api_client, org, ada_access, scopes):
    response = create(api_client, ada_access, scopes=scopes)

    assert response.status_code == HTTPStatus.BAD_REQUEST, response.content
    errors = response.json()
    assert set(errors) == {"scopes"}
    assert isinstance(errors["scopes"], list)  # a field map of messages (API.md), not one per index
    assert all(isinstance(message, str) and "not a valid choice" in message for message in errors["scopes"])
    assert api_client.get(KEYS, **bearer(ada_access)).json() == []


@pytest.mark.django_db
@pytest.mark.parametrize("scopes", ["members:read", {"members:read": True}, [{}], [None], [["members:read"]]])
def test_scopes_not_a_list_of_strings_are_400(api_client, org, ada_access, scopes):
    response = create(api_client, ada_access, scopes=scopes)

    assert response.status_code == HTTPStatus.BAD_REQUEST, response.content
    assert list(response.json()) == ["scopes"]
    assert all(isinstance(message, str) for message in response.json()["scopes"])


@pytest.mark.django_db
def test_a_member_cannot_create_or_list_keys(api_client, org, bob_access):
    assert_error(create(api_client, bob_access), HTTPStatus.FORBIDDEN, "insufficient_role")
    assert_error(api_client.get(KEYS, **bearer(bob_access)), HTTPStatus.FORBIDDEN, "insufficient_role")


@pytest.mark.django_db
def test_a_key_cannot_manage_keys(api_client, ada_access, acme_writer):
    """Not even with every scope: no scope manages keys."""
    key = with_key(acme_writer["key"])

    assert_error(api_client.get(KEYS, **key), HTTPStatus.FORBIDDEN, API_KEY_NOT_ALLOWED)
    response = api_client.post(KEYS, {"name": "child"}, format="json", **key)
    assert_error(response, HTTPStatus.FORBIDDEN, API_KEY_NOT_ALLOWED)
    response = api_client.post(roll_url(acme_writer["id"]), {}, format="json", **key)
    assert_error(response, HTTPStatus.FORBIDDEN, API_KEY_NOT_ALLOWED)
    assert_error(
        api_client.delete(key_url(acme_writer["id"]), **key), HTTPStatus.FORBIDDEN, API_KEY_NOT_ALLOWED
    )
    assert len(api_client.get(KEYS, **bearer(ada_access)).json()) == 1
    assert stored(acme_writer["id"]).active


# --- List ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_list_never_shows_a_secret(api_client, ada_access):
    first = new_key(api_client, ada_access, name="first")
    second = new_key(api_client, ada_access, name="second", scopes=["audit:read"])
    api_client.get(MEMBERS, **with_key(first["key"]))  # used: last_used_at is shown

    response = api_client.get(KEYS, **bearer(ada_access))

    assert response.status_code == HTTPStatus.OK
    listed = response.json()
    assert [entry["name"] for entry in listed] == ["second", "first"]  # newest first
    for entry in listed:
        assert "key" not in entry
        assert "digest" not in entry
        assert {"id", "name", "prefix", "scopes", "expires_at", "last_used_at"} <= set(entry)
    assert listed[1]["prefix"] == first["prefix"]
    assert listed[1]["last_used_at"] is not None
    assert listed[0]["scopes"] == ["audit:read"]
    text = response.content.decode()
    for created in (first, second):
        secret = KEY_RE.fullmatch(created["key"])["secret"]
        assert created["key"] not in text
        assert secret not in text
        assert stored(created["id"]).digest not in text


# --- Revoke -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_revoking_a_key_stops_it_at_once(api_client, ada_access, acme_key):
    key = with_key(acme_key["key"])
    assert api_client.get(MEMBERS, **key).status_code == HTTPStatus.OK

    response = revoke(api_client, ada_access, acme_key["id"])

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert_refused(api_client.get(MEMBERS, **key))
    assert stored(acme_key["id"]).revoked_at is not None
    listed = api_client.get(KEYS, **bearer(ada_access)).json()
    assert listed[0]["active"] is False
    assert revoke(api_client, ada_access, acme_key["id"]).status_code == HTTPStatus.NO_CONTENT  # twice: fine


@pytest.mark.django_db
def test_revoking_an_unknown_or_another_orgs_key_is_404(api_client, ada_access, hank_access, globex_key):
    for key_id in (uuid.uuid4(), globex_key["id"]):
        assert_error(revoke(api_client, ada_access, key_id), HTTPStatus.NOT_FOUND, "api_key_not_found")

    assert stored(globex_key["id"]).revoked_at is None
    assert api_client.get(MEMBERS, **with_key(globex_key["key"])).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_a_member_cannot_revoke(api_client, bob_access, acme_key):
    assert_error(revoke(api_client, bob_access, acme_key["id"]), HTTPStatus.FORBIDDEN, "insufficient_role")
    assert stored(acme_key["id"]).revoked_at is None


# --- Roll ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_rolling_gives_a_new_key_and_the_old_works_for_24_hours(api_client, org, ada_access, acme_writer):
    before = timezone.now()

    response = roll(api_client, ada_access, acme_writer["id"])

    assert response.status_code == HTTPStatus.CREATED, response.content
    rolled = response.json()
    assert KEY_RE.fullmatch(rolled["key"])
    assert rolled["id"] != acme_writer["id"]
    assert rolled["key"] != acme_writer["key"]
    assert rolled["prefix"] != acme_writer["prefix"]
    assert (rolled["name"], rolled["scopes"]) == (acme_writer["name"], acme_writer["scopes"])
    assert rolled["expires_at"] is None
    old_expiry = stored(acme_writer["id"]).expires_at
    assert before + timedelta(hours=24) <= old_expiry <= timezone.now() + timedelta(hours=24)
    for key in (acme_writer["key"], rolled["key"]):
        response = api_client.get(MEMBERS, **with_key(key))
        assert response.status_code == HTTPStatus.OK, response.content
        assert [entry["user"]["email"] for entry in response.json()] == ["ada@example.com"]
    assert len(api_client.get(KEYS, **bearer(ada_access)).json()) == 2


@pytest.mark.django_db
def test_rolling_with_0_hours_stops_the_old_key_at_once(api_client, ada_access, acme_key):
    rolled = roll(api_client, ada_access, acme_key["id"], expires_in_hours=0).json()

    assert_refused(api_client.get(MEMBERS, **with_key(acme_key["key"])))
    assert api_client.get(MEMBERS, **with_key(rolled["key"])).status_code == HTTPStatus.OK
    assert stored(acme_key["id"]).expires_at <= timezone.now()


@pytest.mark.django_db
def test_rolling_keeps_an_earlier_expiry_of_the_old_key(api_client, ada_access):
    soon = timezone.now() + timedelta(hours=2)
    old = new_key(api_client, ada_access, expires_at=soon.isoformat())

    rolled = roll(api_client, ada_access, old["id"], expires_in_hours=48).json()

    assert stored(old["id"]).expires_at == soon  # rolling never lengthens a key's life
    assert parse_datetime(rolled["expires_at"]) == soon  # the successor inherits the expiry


@pytest.mark.django_db
@pytest.mark.parametrize("hours", [-1, 721, 1.5, "x", None, [24]])
def test_rolling_refuses_hours_out_of_range_or_not_an_integer(api_client, ada_access, acme_key, hours):
    response = roll(api_client, ada_access, acme_key["id"], expires_in_hours=hours)

    assert response.status_code == HTTPStatus.BAD_REQUEST, response.content
    assert set(response.json()) == {"expires_in_hours"}
    assert stored(acme_key["id"]).expires_at is None
    assert len(api_client.get(KEYS, **bearer(ada_access)).json()) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("hours", [0, 720])
def test_rolling_accepts_the_bounds(api_client, ada_access, acme_key, hours):
    assert (
        roll(api_client, ada_access, acme_key["id"], expires_in_hours=hours).status_code == HTTPStatus.CREATED
    )


@pytest.mark.django_db
def test_rolling_an_unknown_or_another_orgs_key_is_404(api_client, ada_access, globex_key):
    for key_id in (uuid.uuid4(), globex_key["id"]):
        assert_error(roll(api_client, ada_access, key_id), HTTPStatus.NOT_FOUND, "api_key_not_found")

    assert stored(globex_key["id"]).expires_at is None
    assert len(api_client.get(KEYS, **bearer(ada_access)).json()) == 0


@pytest.mark.django_db
def test_rolling_a_revoked_key_is_404(api_client, ada_access, acme_key):
    revoke(api_client, ada_access, acme_key["id"])

    assert_error(roll(api_client, ada_access, acme_key["id"]), HTTPStatus.NOT_FOUND, "api_key_not_found")


@pytest.mark.django_db
def test_a_member_cannot_roll(api_client, bob_access, acme_key):
    assert_error(roll(api_client, bob_access, acme_key["id"]), HTTPStatus.FORBIDDEN, "insufficient_role")
