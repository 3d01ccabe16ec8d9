"""Admins manage their org's invitations: create, list by status, revoke, resend; another org's are 404."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from invitations.models import Invitation
from tenants.audit import AuditEventType as E
from tenants.rls.context import cross_tenant
from tests.api import bearer
from tests.audit.helpers import events, only
from tests.factories import add_member, make_user
from tests.invitations.helpers import (
    INVITATIONS,
    NEW_PASSWORD,
    accept,
    access_for,
    assert_error,
    assert_invalid,
    create,
    invite,
    invite_prefix,
    mailed_token,
    memberships_of,
    resend,
    revoke,
    row,
    unknown_id,
    validate,
)
from tests.magiclinks.helpers import link_in, only_mail

NEW = "new@example.com"


def expire(invitation_id) -> None:
    with cross_tenant():
        Invitation.objects.filter(pk=invitation_id).update(expires_at=timezone.now() - timedelta(minutes=1))


# --- Create -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_owner_invites_and_the_invitee_is_emailed(api_client, settings, user, org, ada_access, mailoutbox):
    before = timezone.now()

    response = create(api_client, ada_access, "  New@Example.com ", "admin")

    assert response.status_code == HTTPStatus.CREATED, response.content
    body = response.json()
    invitation = row(body["id"])
    assert set(body) == {"id", "email", "role", "status", "created_at", "expires_at"}
    assert (body["email"], body["role"], body["status"]) == (NEW, "admin", "pending")
    expires_at = parse_datetime(body["expires_at"])
    assert expires_at == invitation.expires_at
    assert timedelta(days=7) <= expires_at - before <= timedelta(days=7, minutes=1)
    assert (invitation.org_id, invitation.invited_by_id, invitation.email) == (org.id, user.id, NEW)
    assert invitation.sent_at is not None
    message = only_mail(mailoutbox, NEW)
    assert message.subject == f"ada@example.com invited you to Acme on {settings.AUTH_PRODUCT_NAME}"
    assert "ada@example.com invited you to join Acme" in message.body
    assert "as admin." in message.body
    assert link_in(message).startswith(invite_prefix())
    token = mailed_token(mailoutbox, NEW)  # 43 URL-safe characters: 256 bits
    assert validate(api_client, token).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_the_role_defaults_to_member(api_client, org, ada_access, mailoutbox):
    response = create(api_client, ada_access, NEW)

    assert response.json()["role"] == "member"


@pytest.mark.django_db
def test_an_admin_invites_members_and_admins(api_client, org, grace, grace_access, mailoutbox):
    for email, role in (("m@example.com", "member"), ("a@example.com", "admin")):
        body, _ = invite(api_client, grace_access, mailoutbox, email, role)
        assert body["role"] == role
        assert row(body["id"]).invited_by_id == grace.id


@pytest.mark.django_db
def test_the_mail_names_the_inviter_by_name(api_client, org, grace_access, mailoutbox):
    create(api_client, grace_access, NEW)

    assert "Grace Hopper invited you to join Acme" in only_mail(mailoutbox, NEW).body


@pytest.mark.django_db
def test_debug_link_with_debug_on_is_the_mailed_link(api_client, settings, org, ada_access, mailoutbox):
    settings.DEBUG = True

    body = create(api_client, ada_access, NEW).json()

    assert body["debug_link"] == link_in(only_mail(mailoutbox, NEW))
    assert body["debug_link"].startswith(invite_prefix())
    mailoutbox.clear()
    resent = resend(api_client, ada_access, body["id"]).json()
    assert resent["debug_link"] == link_in(only_mail(mailoutbox, NEW))
    assert resent["debug_link"] != body["debug_link"]


@pytest.mark.django_db
def test_no_debug_link_with_debug_off(api_client, settings, org, ada_access, mailoutbox):
    assert settings.DEBUG is False

    assert "debug_link" not in create(api_client, ada_access, NEW).json()
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_a_member_cannot_invite_or_list(api_client, org, bob_access, mailoutbox):
    assert_error(create(api_client, bob_access, NEW), 403, "insufficient_role")
    assert_error(api_client.get(INVITATIONS, **bearer(bob_access)), 403, "insufficient_role")
    with cross_tenant():
        assert not Invitation.objects.exists()
    assert mailoutbox == []


@pytest.mark.django_db
def test_an_admin_cannot_invite_an_owner(api_client, org, grace_access, mailoutbox):
    response = create(api_client, grace_access, NEW, "owner")

    assert_error(response, 403, "insufficient_role")
    assert response.json()["detail"].startswith("You cannot invite someone with a role above your own")
    with cross_tenant():
        assert not Invitation.objects.exists()
    assert mailoutbox == []
    assert events(type=E.INVITATION_CREATED) == []


@pytest.mark.django_db
def test_an_owner_may_invite_an_owner(api_client, org, ada_access, mailoutbox):
    assert create(api_client, ada_access, NEW, "owner").json()["role"] == "owner"


@pytest.mark.django_db
@pytest.mark.parametrize("email", ["grace@example.com", "GRACE@example.com", "ada@example.com"])
def test_inviting_a_member_is_a_409(api_client, org, grace, ada_access, mailoutbox, email):
    assert_error(create(api_client, ada_access, email), 409, "already_member")
    assert mailoutbox == []


@pytest.mark.django_db
def test_inviting_a_former_member_is_allowed(api_client, org, grace, ada_access, mailoutbox):
    with cross_tenant():
        grace.memberships.filter(org=org).update(is_active=False)

    assert create(api_client, ada_access, grace.email).status_code == HTTPStatus.CREATED


@pytest.mark.django_db
def test_a_member_of_another_org_may_be_invited(api_client, org, other_org, ada_access, mailoutbox):
    assert create(api_client, ada_access, "hank@globex.test").status_code == HTTPStatus.CREATED


@pytest.mark.django_db
def test_a_second_invitation_while_one_is_pending_is_a_409(api_client, org, ada_access, mailoutbox):
    invite(api_client, ada_access, mailoutbox, NEW)

    assert_error(create(api_client, ada_access, NEW.upper()), 409, "invitation_pending")
    with cross_tenant():
        assert Invitation.objects.count() == 1
    assert mailoutbox == []


@pytest.mark.django_db
def test_reinviting_after_the_invitation_expired_works(api_client, org, ada_access, mailoutbox):
    first, old_token = invite(api_client, ada_access, mailoutbox, NEW)
    expire(first["id"])

    second, new_token = invite(api_client, ada_access, mailoutbox, NEW, "admin")

    assert second["id"] != first["id"]
    assert row(first["id"]).status == "expired"
    assert validate(api_client, new_token).json()["role"] == "admin"
    assert_invalid(validate(api_client, old_token))


@pytest.mark.django_db
def test_reinviting_after_a_revocation_works(api_client, org, ada_access, mailoutbox):
    first, _ = invite(api_client, ada_access, mailoutbox, NEW)
    revoke(api_client, ada_access, first["id"])

    _, token = invite(api_client, ada_access, mailoutbox, NEW)

    assert row(first["id"]).status == "revoked"
    assert validate(api_client, token).status_code == HTTPStatus.OK


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [({"email": "not-an-email"}, "email"), ({}, "email"), ({"email": NEW, "role": "superuser"}, "role")],
)
def test_a_malformed_invitation_is_a_400(api_client, org, ada_access, mailoutbox, body, field):
    response = api_client.post(INVITATIONS, body, format="json", **bearer(ada_access))

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(response.json()) == [field]
    assert mailoutbox == []


@pytest.mark.django_db
def test_creating_is_recorded(api_client, user, org, ada_access, mailoutbox):
    body, _ = invite(api_client, ada_access, mailoutbox, NEW, "admin")

    event = only(E.INVITATION_CREATED)
    assert (event.org_id, event.actor_user_id, event.subject_id) == (org.id, user.id, body["id"])
    assert event.details == {"email": NEW, "role": "admin"}


# --- List -------------------------------------------------------------------------------------------------


@pytest.fixture
def four_invitations(api_client, org, ada_access, mailoutbox) -> dict[str, str]:
    """One invitation of each status (by address): their ids."""
    ids = {}
    for status in ("accepted", "revoked", "expired", "pending"):
        body, token = invite(api_client, ada_access, mailoutbox, f"{status}@example.com")
        ids[status] = body["id"]
        if status == "accepted":
            assert accept(api_client, token, password=NEW_PASSWORD).status_code == HTTPStatus.CREATED
        elif status == "revoked":
            assert revoke(api_client, ada_access, body["id"]).status_code == HTTPStatus.NO_CONTENT
        elif status == "expired":
            expire(body["id"])
    return ids


@pytest.mark.django_db
def test_the_list_is_newest_first_with_statuses(api_client, ada_access, four_invitations):
    response = api_client.get(INVITATIONS, **bearer(ada_access))

    assert response.status_code == HTTPStatus.OK
    assert [(i["email"], i["status"]) for i in response.json()] == [
        ("pending@example.com", "pending"),
        ("expired@example.com", "expired"),
        ("revoked@example.com", "revoked"),
        ("accepted@example.com", "accepted"),
    ]
    assert all("debug_link" not in i for i in response.json())


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["pending", "accepted", "revoked", "expired"])
def test_the_list_filters_by_status(api_client, ada_access, four_invitations, status):
    response = api_client.get(INVITATIONS, {"status": status}, **bearer(ada_access))

    assert [(i["id"], i["status"]) for i in response.json()] == [(four_invitations[status], status)]


@pytest.mark.django_db
def test_the_list_filters_by_several_statuses(api_client, ada_access, four_invitations):
    response = api_client.get(INVITATIONS, {"status": ["pending", "accepted"]}, **bearer(ada_access))

    assert [i["status"] for i in response.json()] == ["pending", "accepted"]


@pytest.mark.django_db
def test_an_expired_then_revoked_invitation_lists_as_expired(api_client, ada_access, four_invitations):
    with cross_tenant():
        Invitation.objects.filter(pk=four_invitations["expired"]).update(revoked_at=timezone.now())

    expired = api_client.get(INVITATIONS, {"status": "expired"}, **bearer(ada_access)).json()
    revoked = api_client.get(INVITATIONS, {"status": "revoked"}, **bearer(ada_access)).json()

    assert [i["id"] for i in expired] == [four_invitations["expired"]]
    assert [i["id"] for i in revoked] == [four_invitations["revoked"]]


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["open", ""])
def test_an_unknown_status_is_a_400(api_client, ada_access, status):
    response = api_client.get(INVITATIONS, {"status": status}, **bearer(ada_access))

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(response.json()) == ["status"]


@pytest.mark.django_db
def test_an_admin_of_another_org_sees_only_their_own(
    api_client, org, other_org, ada_access, hank_access, mailoutbox
):
    invite(api_client, ada_access, mailoutbox, NEW)
    assert api_client.get(INVITATIONS, **bearer(hank_access)).json() == []

    invite(api_client, hank_access, mailoutbox, "globex-new@example.com")

    assert [i["email"] for i in api_client.get(INVITATIONS, **bearer(hank_access)).json()] == [
        "globex-new@example.com"
    ]
    assert [i["email"] for i in api_client.get(INVITATIONS, **bearer(ada_access)).json()] == [NEW]


# --- Revoke -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_revoking_kills_the_link(api_client, user, org, ada_access, mailoutbox):
    body, token = invite(api_client, ada_access, mailoutbox, NEW)

    response = revoke(api_client, ada_access, body["id"])

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert row(body["id"]).status == "revoked"
    assert_invalid(validate(api_client, token))
    assert_invalid(accept(api_client, token, password=NEW_PASSWORD))
    assert memberships_of(NEW, org) == []
    event = only(E.INVITATION_REVOKED)
    assert (event.org_id, event.actor_user_id, event.subject_id) == (org.id, user.id, body["id"])
    assert event.details == {"email": NEW, "role": "member"}


@pytest.mark.django_db
def test_revoking_twice_is_fine_and_recorded_once(api_client, org, ada_access, mailoutbox):
    body, _ = invite(api_client, ada_access, mailoutbox, NEW)

    assert revoke(api_client, ada_access, body["id"]).status_code == HTTPStatus.NO_CONTENT
    assert revoke(api_client, ada_access, body["id"]).status_code == HTTPStatus.NO_CONTENT

    assert len(events(type=E.INVITATION_REVOKED)) == 1


@pytest.mark.django_db
def test_revoking_an_accepted_invitation_is_a_409(api_client, org, ada_access, mailoutbox):
    body, token = invite(api_client, ada_access, mailoutbox, NEW)
    accept(api_client, token, password=NEW_PASSWORD)

    assert_error(revoke(api_client, ada_access, body["id"]), 409, "invitation_closed")
    assert row(body["id"]).status == "accepted"


@pytest.mark.django_db
def test_revoking_or_resending_another_orgs_invitation_is_a_404(
    api_client, org, other_org, ada_access, hank_access, mailoutbox
):
    body, token = invite(api_client, ada_access, mailoutbox, NEW)

    for response in (
        revoke(api_client, hank_access, body["id"]),
        resend(api_client, hank_access, body["id"]),
        revoke(api_client, ada_access, unknown_id()),
        resend(api_client, ada_access, unknown_id()),
    ):
        assert response.status_code == HTTPStatus.NOT_FOUND
        assert response.json() == {"detail": "No such invitation.", "code": "invitation_not_found"}

    assert row(body["id"]).status == "pending"
    assert mailoutbox == []
    assert validate(api_client, token).status_code == HTTPStatus.OK
    assert events(type=E.INVITATION_REVOKED) + events(type=E.INVITATION_RESENT) == []


@pytest.mark.django_db
def test_a_member_cannot_revoke_or_resend(api_client, org, ada_access, bob_access, mailoutbox):
    body, _ = invite(api_client, ada_access, mailoutbox, NEW)

    assert_error(revoke(api_client, bob_access, body["id"]), 403, "insufficient_role")
    assert_error(resend(api_client, bob_access, body["id"]), 403, "insufficient_role")
    assert row(body["id"]).status == "pending"


# --- Resend -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_resending_mails_a_new_link_and_kills_the_old(api_client, user, org, ada_access, mailoutbox):
    body, old_token = invite(api_client, ada_access, mailoutbox, NEW)
    first_expiry = row(body["id"]).expires_at

    response = resend(api_client, ada_access, body["id"])

    assert response.status_code == HTTPStatus.OK
    resent = response.json()
    assert (resent["id"], resent["email"], resent["status"]) == (body["id"], NEW, "pending")
    assert parse_datetime(resent["expires_at"]) >= first_expiry
    new_token = mailed_token(mailoutbox, NEW)
    assert new_token != old_token
    assert_invalid(validate(api_client, old_token))
    assert_invalid(accept(api_client, old_token, password=NEW_PASSWORD))
    assert validate(api_client, new_token).status_code == HTTPStatus.OK
    assert accept(api_client, new_token, password=NEW_PASSWORD).status_code == HTTPStatus.CREATED
    event = only(E.INVITATION_RESENT)
    assert (event.org_id, event.actor_user_id, event.subject_id) == (org.id, user.id, body["id"])


@pytest.mark.django_db
def test_resending_an_expired_invitation_renews_it(api_client, org, ada_access, mailoutbox):
    body, old_token = invite(api_client, ada_access, mailoutbox, NEW)
    expire(body["id"])

    response = resend(api_client, ada_access, body["id"])

    assert response.json()["status"] == "pending"
    assert row(body["id"]).expires_at > timezone.now() + timedelta(days=6)
    assert validate(api_client, mailed_token(mailoutbox, NEW)).status_code == HTTPStatus.OK
    assert_invalid(validate(api_client, old_token))


@pytest.mark.django_db
def test_resending_twice_keeps_only_the_newest_link(api_client, org, ada_access, mailoutbox):
    body, first = invite(api_client, ada_access, mailoutbox, NEW)
    resend(api_client, ada_access, body["id"])
    second = mailed_token(mailoutbox, NEW)
    resend(api_client, ada_access, body["id"])
    third = mailed_token(mailoutbox, NEW)

    assert_invalid(validate(api_client, first))
    assert_invalid(validate(api_client, second))
    assert validate(api_client, third).status_code == HTTPStatus.OK


@pytest.mark.django_db
@pytest.mark.parametrize("closed", ["accepted", "revoked"])
def test_resending_a_closed_invitation_is_a_409(api_client, org, ada_access, mailoutbox, closed):
    body, token = invite(api_client, ada_access, mailoutbox, NEW)
    if closed == "accepted":
        accept(api_client, token, password=NEW_PASSWORD)
    else:
        revoke(api_client, ada_access, body["id"])

    assert_error(resend(api_client, ada_access, body["id"]), 409, "invitation_closed")
    assert mailoutbox == []
    assert row(body["id"]).status == closed


@pytest.mark.django_db
def test_an_admin_of_the_org_resends_an_owners_invitation(
    api_client, org, ada_access, grace_access, mailoutbox
):
    body, _ = invite(api_client, ada_access, mailoutbox, NEW)

    assert resend(api_client, grace_access, body["id"]).status_code == HTTPStatus.OK
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_a_member_of_two_orgs_manages_only_the_current_orgs(api_client, org, other_org, mailoutbox):
    ivy = make_user(email="ivy@example.com")
    add_member(org=org, user=ivy, role="admin")
    add_member(org=other_org, user=ivy, role="admin")
    ivy_in_acme = access_for(api_client, ivy.email, org=org.slug)
    ivy_in_globex = access_for(api_client, ivy.email, org=other_org.slug)
    body, _ = invite(api_client, ivy_in_acme, mailoutbox, NEW)

    assert api_client.get(INVITATIONS, **bearer(ivy_in_globex)).json() == []
    assert_error(revoke(api_client, ivy_in_globex, body["id"]), 404, "invitation_not_found")
    assert revoke(api_client, ivy_in_acme, body["id"]).status_code == HTTPStatus.NO_CONTENT
