"""The keys' audit events: created, rolled, revoked (the acting admin is the actor), refused (a revoked or
expired key used: kept although the answer is 401, at most once a minute per key), and what a key does
(the key is the actor, no user); an invitation made by a key carries it and can be accepted."""

from __future__ import annotations

import uuid
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from invitations.models import Invitation
from tenants.audit import AuditEventType as E
from tenants.models import Membership
from tenants.policy import MembershipRole
from tenants.rls.context import cross_tenant
from tests.api import AUTH, bearer, claims, login
from tests.apikeys.helpers import (
    AUDIT_LOG,
    INVITATIONS,
    MEMBERS,
    assert_refused,
    member_url,
    new_key,
    revoke,
    roll,
    stored,
    stored_update,
    with_key,
)
from tests.audit.helpers import assert_no_secret_stored, committed_events, events, only
from tests.invitations.helpers import ACCEPT, NEW_PASSWORD, mailed_token

CHANGELIST = "/admin/apikeys/apikey/"


def details_of(body: dict) -> dict:
    return {"name": body["name"], "prefix": body["prefix"]}


@pytest.mark.django_db
def test_created_rolled_and_revoked_are_recorded(api_client, org, user, ada_access):
    created = new_key(api_client, ada_access, name="deploy", scopes=["members:read"])
    rolled = roll(api_client, ada_access, created["id"], expires_in_hours=2).json()
    revoke(api_client, ada_access, rolled["id"])
    revoke(api_client, ada_access, rolled["id"])  # twice: one event

    created_events = events(type=E.API_KEY_CREATED, org_id=org.id)
    assert [event.subject_id for event in created_events] == [created["id"], rolled["id"]]
    first = created_events[0]
    assert first.details == {**details_of(created), "scopes": ["members:read"]}
    assert (first.actor_user_id, first.actor_api_key_id, first.subject_type) == (user.id, None, "apikey")
    rolled_event = only(E.API_KEY_ROLLED, org_id=org.id)
    assert rolled_event.subject_id == created["id"]
    assert rolled_event.actor_user_id == user.id
    assert rolled_event.details["successor"] == rolled["prefix"]
    assert rolled_event.details["prefix"] == created["prefix"]
    assert "old_expires_at" in rolled_event.details
    revoked = only(E.API_KEY_REVOKED, org_id=org.id)
    assert (revoked.subject_id, revoked.actor_user_id, revoked.details) == (
        rolled["id"],
        user.id,
        details_of(rolled),
    )
    assert_no_secret_stored(created["key"], rolled["key"])


@pytest.mark.django_db
def test_the_events_show_in_the_orgs_audit_log(api_client, org, ada_access, hank_access):
    created = new_key(api_client, ada_access)
    new_key(api_client, hank_access, name="globex")

    log = api_client.get(AUDIT_LOG, {"type": E.API_KEY_CREATED}, **bearer(ada_access)).json()["results"]

    assert [(event["type"], event["subject"]["id"]) for event in log] == [(E.API_KEY_CREATED, created["id"])]


@pytest.mark.django_db
def test_a_revoked_key_used_is_recorded_although_the_answer_is_401(api_client, org, ada_access, acme_key):
    revoke(api_client, ada_access, acme_key["id"])

    assert_refused(api_client.get(MEMBERS, **with_key(acme_key["key"]), HTTP_USER_AGENT="deploy-bot/1.0"))

    event = only(E.API_KEY_REFUSED)
    assert event.org_id == org.id
    assert (event.actor_api_key_id, event.actor_user_id) == (uuid.UUID(acme_key["id"]), None)
    assert event.details == {"reason": "revoked"}
    assert event.user_agent == "deploy-bot/1.0"
    assert_no_secret_stored(acme_key["key"])


@pytest.mark.django_db
def test_an_expired_key_used_is_recorded(api_client, org, ada_access, acme_key):
    stored_update(acme_key["id"], expires_at=timezone.now() - timedelta(minutes=1))

    assert_refused(api_client.get(MEMBERS, **with_key(acme_key["key"])))

    event = only(E.API_KEY_REFUSED)
    assert (event.org_id, event.actor_api_key_id, event.details) == (
        org.id,
        uuid.UUID(acme_key["id"]),
        {"reason": "expired"},
    )


@pytest.mark.django_db
def test_refusals_are_recorded_at_most_once_a_minute_per_key(api_client, org, ada_access):
    first = new_key(api_client, ada_access, name="first")
    second = new_key(api_client, ada_access, name="second")
    for body in (first, second):
        revoke(api_client, ada_access, body["id"])

    for _ in range(3):
        assert_refused(api_client.get(MEMBERS, **with_key(first["key"])))
    assert_refused(api_client.get(MEMBERS, **with_key(second["key"])))

    assert len(events(type=E.API_KEY_REFUSED, actor_api_key_id=first["id"])) == 1
    assert len(events(type=E.API_KEY_REFUSED, actor_api_key_id=second["id"])) == 1


@pytest.mark.django_db
def test_unknown_and_tampered_keys_record_nothing(api_client, org, acme_key):
    """No key of the org matched: there is no key to attribute it to (and no org to put it in)."""
    assert_refused(api_client.get(MEMBERS, **with_key(acme_key["key"][:-1] + "!")))
    assert_refused(api_client.get(MEMBERS, **with_key("authsvc_ABCDEFGH_nothing")))

    assert events(type=E.API_KEY_REFUSED) == []


@pytest.mark.django_db
def test_an_action_done_with_a_key_has_the_key_as_actor(api_client, org, bob_member, acme_writer):
    response = api_client.delete(member_url(bob_member.id), **with_key(acme_writer["key"]))
    assert response.status_code == HTTPStatus.NO_CONTENT, response.content

    event = only(E.MEMBERSHIP_REMOVED, org_id=org.id)
    assert (event.actor_api_key_id, event.actor_user_id) == (uuid.UUID(acme_writer["id"]), None)


@pytest.mark.django_db
def test_an_invitation_made_by_a_key(api_client, org, acme_writer, mailoutbox):
    response = api_client.post(
        INVITATIONS,
        {"email": "new@example.com", "role": "member"},
        format="json",
        **with_key(acme_writer["key"]),
    )

    assert response.status_code == HTTPStatus.CREATED, response.content
    body = response.json()
    assert (body["email"], body["role"], body["status"]) == ("new@example.com", "member", "pending")
    event = only(E.INVITATION_CREATED, org_id=org.id)
    assert (event.actor_api_key_id, event.actor_user_id) == (uuid.UUID(acme_writer["id"]), None)
    with cross_tenant():
        invitation = Invitation.objects.get(pk=body["id"])
    assert invitation.invited_by_api_key_id == uuid.UUID(acme_writer["id"])
    assert invitation.invited_by_id is None

    token = mailed_token(mailoutbox, "new@example.com")
    validated = api_client.get(f"{AUTH}/invitations/validate/", {"token": token})
    assert validated.status_code == HTTPStatus.OK, validated.content
    assert validated.json()["invited_by"] == "An administrator of Acme"
    accepted = api_client.post(ACCEPT, {"token": token, "password": NEW_PASSWORD}, format="json")
    assert accepted.status_code == HTTPStatus.CREATED, accepted.content
    assert claims(accepted.json()["access"])["org_id"] == str(org.id)
    with cross_tenant():
        membership = Membership.objects.get(org=org, user__email="new@example.com")
    assert (membership.role, membership.is_active) == (MembershipRole.MEMBER, True)


@pytest.mark.django_db
def test_the_admins_revoke_is_recorded(admin_client, api_client, superuser, org, ada_access):
    created = new_key(api_client, ada_access)

    admin_client.post(CHANGELIST, {"action": "revoke", "_selected_action": [created["id"]]})
    admin_client.post(CHANGELIST, {"action": "revoke", "_selected_action": [created["id"]]})

    event = only(E.API_KEY_REVOKED)
    assert (event.org_id, event.subject_id, event.actor_user_id) == (org.id, created["id"], superuser.id)


@pytest.mark.django_db(transaction=True)
def test_a_refusal_is_committed_although_the_request_rolls_back(user, org):
    """Real request transactions (as in production): the 401 rolls the request's back, the event stays."""
    client = APIClient()
    access = login(client, "ada@example.com").json()["access"]
    created = new_key(client, access)
    assert revoke(client, access, created["id"]).status_code == HTTPStatus.NO_CONTENT

    assert_refused(client.get(MEMBERS, **with_key(created["key"])))

    assert committed_events(type=E.API_KEY_REFUSED) == [(E.API_KEY_REFUSED, {"reason": "revoked"})]
    assert stored(created["id"]).last_used_at is None
