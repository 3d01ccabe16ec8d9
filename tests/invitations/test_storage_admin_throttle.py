"""What rests in the database (digests only, never a token), the Django admin's invitations (every org's,
with revoke and resend actions), and the ``invitation`` throttle of validate/ and accept/."""

from __future__ import annotations

import json
from http import HTTPStatus

import pytest
from django.db import connection

from core.secrets import secret_digest
from invitations.models import Invitation
from invitations.tasks import TOKEN_PURPOSE
from tenants.audit import AuditEventType as E
from tenants.rls.context import cross_tenant, tenant_context
from tests.audit.helpers import assert_no_secret_stored, only
from tests.invitations.helpers import (
    ACCEPT,
    NEW_PASSWORD,
    accept,
    assert_invalid,
    invite,
    mailed_token,
    resend,
    row,
    validate,
)

NEW = "new@example.com"
CHANGELIST = "/admin/invitations/invitation/"


def stored_invitations() -> str:
    """Every column of every invitation row, as text (read through the cross-tenant path, raw SQL)."""
    with cross_tenant(), connection.cursor() as cursor:
        cursor.execute("SELECT * FROM invitations_invitation")
        columns = [c.name for c in cursor.description]
        rows = [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]
    assert rows
    return json.dumps(rows, default=str)


# --- Digests only -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_only_digests_are_stored(api_client, org, ada_access, mailoutbox):
    body, first = invite(api_client, ada_access, mailoutbox, NEW)
    resend(api_client, ada_access, body["id"])
    second = mailed_token(mailoutbox, NEW)
    other, third = invite(api_client, ada_access, mailoutbox, "other@example.com")
    accepted = accept(api_client, third, password=NEW_PASSWORD).json()

    stored = stored_invitations()

    for token in (first, second, third):
        assert token not in stored
    invitation = row(body["id"])
    assert invitation.digest == secret_digest(second, purpose=TOKEN_PURPOSE)
    assert secret_digest(first, purpose=TOKEN_PURPOSE) in invitation.retired_digests
    assert row(other["id"]).digest == secret_digest(third, purpose=TOKEN_PURPOSE)
    assert len(invitation.digest) == 64
    assert_no_secret_stored(first, second, third)
    assert_no_secret_stored(*[accepted["access"], accepted["refresh"]])


@pytest.mark.django_db
def test_invitations_are_tenant_rows(api_client, org, other_org, ada_access, hank_access, mailoutbox):
    """Without an org scope the runtime role sees none; each org's scope sees its own."""
    acme, _ = invite(api_client, ada_access, mailoutbox, NEW)
    globex, _ = invite(api_client, hank_access, mailoutbox, "g@example.com")

    with tenant_context(None):  # (the test's transaction still carries the last request's org)
        assert Invitation.objects.count() == 0
    with tenant_context(org.id):
        assert [str(pk) for pk in Invitation.objects.values_list("id", flat=True)] == [acme["id"]]
        assert not Invitation.objects.filter(pk=globex["id"]).exists()  # no org filter: RLS alone
    with tenant_context(other_org.id):
        assert [str(pk) for pk in Invitation.objects.values_list("id", flat=True)] == [globex["id"]]


# --- The Django admin ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_changelist_shows_every_orgs_invitations_and_no_secret(
    admin_client, api_client, org, other_org, ada_access, hank_access, mailoutbox
):
    acme, token = invite(api_client, ada_access, mailoutbox, NEW)
    invite(api_client, hank_access, mailoutbox, "g@example.com")

    response = admin_client.get(CHANGELIST)

    assert response.status_code == HTTPStatus.OK
    content = response.content.decode()
    assert response.context["cl"].result_count == 2
    for shown in (NEW, "g@example.com", "Acme", "Globex", "pending"):
        assert shown in content
    assert token not in content
    assert row(acme["id"]).digest not in content
    detail = admin_client.get(f"{CHANGELIST}{acme['id']}/change/")
    assert detail.status_code == HTTPStatus.OK
    assert row(acme["id"]).digest not in detail.content.decode()
    assert admin_client.get(f"{CHANGELIST}add/").status_code == HTTPStatus.FORBIDDEN


@pytest.mark.django_db
def test_the_changelist_is_for_staff_only(client, api_client, org, ada_access, mailoutbox, user):
    invite(api_client, ada_access, mailoutbox, NEW)
    client.force_login(user)  # an org owner, not staff

    response = client.get(CHANGELIST)

    assert response.status_code == HTTPStatus.FOUND
    assert "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_the_admin_revokes_an_invitation(admin_client, api_client, superuser, org, ada_access, mailoutbox):
    body, token = invite(api_client, ada_access, mailoutbox, NEW)

    response = admin_client.post(CHANGELIST, {"action": "revoke", "_selected_action": [body["id"]]})

    assert response.status_code == HTTPStatus.FOUND
    assert row(body["id"]).status == "revoked"
    assert_invalid(validate(api_client, token))
    assert_invalid(accept(api_client, token, password=NEW_PASSWORD))
    event = only(E.INVITATION_REVOKED)
    assert (event.org_id, event.actor_user_id) == (org.id, superuser.id)


@pytest.mark.django_db
def test_the_admins_revoke_leaves_an_accepted_invitation_accepted(
    admin_client, api_client, org, ada_access, mailoutbox
):
    body, token = invite(api_client, ada_access, mailoutbox, NEW)
    accept(api_client, token, password=NEW_PASSWORD)

    admin_client.post(CHANGELIST, {"action": "revoke", "_selected_action": [body["id"]]})

    assert row(body["id"]).status == "accepted"


@pytest.mark.django_db
def test_the_admin_resends_an_invitation(
    admin_client, api_client, org, ada_access, mailoutbox, django_capture_on_commit_callbacks
):
    body, old_token = invite(api_client, ada_access, mailoutbox, NEW)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(CHANGELIST, {"action": "resend", "_selected_action": [body["id"]]})

    assert response.status_code == HTTPStatus.FOUND
    new_token = mailed_token(mailoutbox, NEW)
    assert_invalid(validate(api_client, old_token))
    assert validate(api_client, new_token).status_code == HTTPStatus.OK
    assert only(E.INVITATION_RESENT).org_id == org.id


# --- Throttle -------------------------------------------------------------------------------------------------


@pytest.fixture
def rates(settings):
    def override(**scopes: str) -> None:
        current = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**current, **scopes}}

    return override


def network(i: int) -> dict:
    return {"REMOTE_ADDR": f"198.51.100.{i + 1}"}


def assert_throttled(response) -> None:
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS, response.content
    assert int(response["Retry-After"]) > 0
    assert response.json()["code"] == "throttled"


def accept_from(client, token: str, headers: dict):
    return client.post(ACCEPT, {"token": token, "password": NEW_PASSWORD}, format="json", **headers)


@pytest.mark.django_db
def test_accept_is_throttled_per_network(api_client, rates, org, ada_access, mailoutbox):
    rates(invitation="3/hour")
    body, token = invite(api_client, ada_access, mailoutbox, NEW)
    for _ in range(3):
        assert accept_from(api_client, "A" * 43, network(0)).status_code == HTTPStatus.NOT_FOUND

    assert_throttled(accept_from(api_client, token, network(0)))
    assert_throttled(validate(api_client, token, **network(0)))  # one bucket for validate/ and accept/
    assert row(body["id"]).status == "pending"  # the throttled accept did nothing
    assert accept_from(api_client, token, network(1)).status_code == HTTPStatus.CREATED


@pytest.mark.django_db
def test_validate_is_throttled_per_network(api_client, rates, org):
    rates(invitation="2/hour")
    for _ in range(2):
        assert validate(api_client, "A" * 43, **network(0)).status_code == HTTPStatus.NOT_FOUND

    assert_throttled(validate(api_client, "A" * 43, **network(0)))
    assert validate(api_client, "A" * 43, **network(1)).status_code == HTTPStatus.NOT_FOUND
