"""invitations/accept/: a new account (password) → 201, an existing one with its Bearer → 200, each a pair
scoped to the inviting org with the invited role; the wrong account is 403 and the invitation lives on;
an existing address without a Bearer is 409; a link works once."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.utils import timezone

from accounts.models import Session, User
from invitations.models import Invitation
from tenants.audit import AuditEventType as E
from tenants.models import Membership
from tenants.rls.context import cross_tenant
from tests.api import bearer, claims, login
from tests.audit.helpers import events, only
from tests.factories import DEFAULT_PASSWORD, add_member, make_user
from tests.invitations.helpers import (
    NEW_PASSWORD,
    accept,
    access_for,
    assert_error,
    assert_invalid,
    invite,
    memberships_of,
    row,
    validate,
)

NEW = "new@example.com"
DORA = "dora@example.com"
ME = "/api/auth/me/"
MEMBERS = "/api/auth/org/members/"


def assert_pair_scoped_to(body: dict, org, role: str, email: str) -> Membership:
    """The sign-in body is scoped to ``org`` with ``role``, for ``email``; its membership."""
    (membership,) = memberships_of(email, org)
    assert body["org"] == {"id": str(org.id), "name": org.name, "slug": org.slug, "role": role}
    assert body["user"]["email"] == email
    assert body["user"]["email_verified"] is True
    payload = claims(body["access"])
    assert (payload["org_id"], payload["profile_id"]) == (str(org.id), str(membership.id))
    assert (membership.role, membership.is_active) == (role, True)
    return membership


# --- A new account ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_new_user_accepts_with_a_password(api_client, user, org, ada_access, mailoutbox):
    body, token = invite(api_client, ada_access, mailoutbox, NEW, "admin")

    response = accept(api_client, token, password=NEW_PASSWORD, first_name="Nia", last_name="New")

    assert response.status_code == HTTPStatus.CREATED, response.content
    assert response["Cache-Control"] == "no-store"
    result = response.json()
    assert set(result) == {"access", "refresh", "expires_in", "user", "organizations", "org"}
    membership = assert_pair_scoped_to(result, org, "admin", NEW)
    assert result["organizations"] == [result["org"]]
    new_user = User.objects.get(email=NEW)
    assert (new_user.first_name, new_user.last_name, new_user.email_verified) == ("Nia", "New", True)
    assert new_user.check_password(NEW_PASSWORD)
    invitation = row(body["id"])
    assert invitation.status == "accepted"
    assert invitation.accepted_by_id == new_user.id
    # The pair works in the org, and the password signs in later.
    assert api_client.get(MEMBERS, **bearer(result["access"])).status_code == HTTPStatus.OK
    assert login(api_client, NEW, NEW_PASSWORD).status_code == HTTPStatus.OK
    accepted = only(E.INVITATION_ACCEPTED)
    assert (accepted.org_id, accepted.subject_id) == (org.id, body["id"])
    assert accepted.details == {"email": NEW, "role": "admin", "user_id": str(new_user.id)}
    assert only(E.USER_REGISTERED).details == {"method": "invitation"}
    assert only(E.MEMBERSHIP_CREATED, subject_user_id=new_user.id).subject_id == str(membership.id)
    signed_in = only(E.SIGN_IN_SUCCEEDED, subject_user_id=new_user.id, details__method="invitation")
    assert (signed_in.org_id, signed_in.details["amr"]) == (org.id, ["pwd"])


@pytest.mark.django_db
def test_invitations_create_accounts_even_with_sign_up_off(api_client, settings, org, ada_access, mailoutbox):
    settings.AUTH_ALLOW_SIGNUP = False
    _, token = invite(api_client, ada_access, mailoutbox, NEW)

    assert accept(api_client, token, password=NEW_PASSWORD).status_code == HTTPStatus.CREATED


@pytest.mark.django_db
@pytest.mark.parametrize(
    "password",
    [
        pytest.param("12345678", id="common-and-numeric"),
        pytest.param("short", id="too-short"),
        pytest.param("new@example.com", id="the-address"),
        pytest.param("x" * 129, id="too-long"),
    ],
)
def test_a_weak_password_is_a_400_and_nothing_happens(api_client, org, ada_access, mailoutbox, password):
    body, token = invite(api_client, ada_access, mailoutbox, NEW)

    response = accept(api_client, token, password=password)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(response.json()) == ["password"]
    assert not User.objects.filter(email=NEW).exists()
    assert row(body["id"]).status == "pending"
    assert accept(api_client, token, password=NEW_PASSWORD).status_code == HTTPStatus.CREATED


@pytest.mark.django_db
def test_a_new_user_without_a_password_is_a_400(api_client, org, ada_access, mailoutbox):
    body, token = invite(api_client, ada_access, mailoutbox, NEW)

    response = accept(api_client, token)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"password": ["A new account needs a password."]}
    assert not User.objects.filter(email=NEW).exists()
    assert row(body["id"]).status == "pending"


@pytest.mark.django_db
def test_accepting_twice_is_a_400(api_client, org, ada_access, mailoutbox):
    _, token = invite(api_client, ada_access, mailoutbox, NEW)
    first = accept(api_client, token, password=NEW_PASSWORD)

    again = accept(api_client, token, password=NEW_PASSWORD)
    with_bearer = accept(api_client, token, first.json()["access"])

    assert_invalid(again)
    assert_invalid(with_bearer)
    assert len(memberships_of(NEW)) == 1
    assert len(events(type=E.INVITATION_ACCEPTED)) == 1


@pytest.mark.django_db
def test_an_expired_invitation_cannot_be_accepted(api_client, org, ada_access, mailoutbox):
    expired, expired_token = invite(api_client, ada_access, mailoutbox, NEW)
    with cross_tenant():
        Invitation.objects.filter(pk=expired["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert_invalid(accept(api_client, expired_token, password=NEW_PASSWORD))
    assert not User.objects.filter(email=NEW).exists()


@pytest.mark.django_db
def test_an_unknown_token_is_a_404(api_client, org):
    response = accept(api_client, "A" * 43, password=NEW_PASSWORD)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == "invitation_not_found"


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{}, {"token": ""}, {"token": "x" * 129}])
def test_a_missing_token_is_a_400(api_client, body):
    response = api_client.post("/api/auth/invitations/accept/", body, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(response.json()) == ["token"]


# --- An existing account -----------------------------------------------------------------------------------


@pytest.fixture
def dora(other_org) -> User:
    """An account elsewhere (a member of Globex), not verified yet."""
    dora = make_user(email=DORA)
    add_member(org=other_org, user=dora)
    return dora


@pytest.mark.django_db
def test_an_existing_user_accepts_with_their_bearer(api_client, org, other_org, dora, ada_access, mailoutbox):
    body, token = invite(api_client, ada_access, mailoutbox, DORA, "admin")
    dora_in_globex = access_for(api_client, DORA)
    assert claims(dora_in_globex)["org_id"] == str(other_org.id)

    response = accept(api_client, token, dora_in_globex)

    assert response.status_code == HTTPStatus.OK, response.content
    result = response.json()
    assert_pair_scoped_to(result, org, "admin", DORA)
    assert [o["name"] for o in result["organizations"]] == ["Acme", "Globex"]
    dora.refresh_from_db()
    assert dora.email_verified is True
    assert dora.check_password(DEFAULT_PASSWORD)
    assert row(body["id"]).accepted_by_id == dora.id
    # Both sessions live: the new one in Acme, the Globex one untouched.
    assert api_client.get(MEMBERS, **bearer(result["access"])).status_code == HTTPStatus.OK
    assert api_client.get(ME, **bearer(dora_in_globex)).status_code == HTTPStatus.OK
    assert only(E.INVITATION_ACCEPTED).details["user_id"] == str(dora.id)
    assert only(E.USER_EMAIL_VERIFIED).details == {"via": "invitation"}
    assert events(type=E.USER_REGISTERED) == []


@pytest.mark.django_db
def test_an_existing_user_without_an_org_accepts(api_client, org, ada_access, mailoutbox):
    make_user(email=NEW)
    _, token = invite(api_client, ada_access, mailoutbox, NEW)

    response = accept(api_client, token, access_for(api_client, NEW))

    assert response.status_code == HTTPStatus.OK
    assert_pair_scoped_to(response.json(), org, "member", NEW)


@pytest.mark.django_db
def test_a_bearer_of_another_address_is_a_403_and_the_invitation_lives(
    api_client, org, other_org, dora, ada_access, mailoutbox
):
    body, token = invite(api_client, ada_access, mailoutbox, DORA)
    hank = access_for(api_client, "hank@globex.test")

    response = accept(api_client, token, hank)

    assert_error(response, 403, "wrong_account")
    assert row(body["id"]).status == "pending"
    assert memberships_of(DORA, org) == []
    assert memberships_of("hank@globex.test", org) == []
    assert validate(api_client, token).status_code == HTTPStatus.OK
    # The right account then accepts.
    right = accept(api_client, token, access_for(api_client, DORA))
    assert right.status_code == HTTPStatus.OK
    assert_pair_scoped_to(right.json(), org, "member", DORA)


@pytest.mark.django_db
def test_an_existing_address_without_a_bearer_is_a_409(api_client, org, dora, ada_access, mailoutbox):
    body, token = invite(api_client, ada_access, mailoutbox, DORA)

    response = accept(api_client, token, password=NEW_PASSWORD)

    assert_error(response, 409, "account_exists")
    dora.refresh_from_db()
    assert dora.check_password(DEFAULT_PASSWORD)  # the password sent was not set
    assert not dora.email_verified
    assert row(body["id"]).status == "pending"
    assert memberships_of(DORA, org) == []
    assert accept(api_client, token, access_for(api_client, DORA)).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_a_bearer_whose_session_ended_is_a_401(api_client, org, dora, ada_access, mailoutbox):
    body, token = invite(api_client, ada_access, mailoutbox, DORA)
    access = access_for(api_client, DORA)
    Session.objects.filter(user=dora).revoke(reason="logout")

    response = accept(api_client, token, access)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert row(body["id"]).status == "pending"


@pytest.mark.django_db
def test_a_former_member_comes_back_with_the_invited_role(api_client, org, ada_access, mailoutbox):
    former = make_user(email=NEW)
    old = add_member(org=org, user=former, role="admin")
    old_access = access_for(api_client, NEW)
    with cross_tenant():
        Membership.objects.filter(pk=old.pk).update(is_active=False)
    _, token = invite(api_client, ada_access, mailoutbox, NEW, "member")

    response = accept(api_client, token, access_for(api_client, NEW))

    assert response.status_code == HTTPStatus.OK
    membership = assert_pair_scoped_to(response.json(), org, "member", NEW)
    assert membership.id == old.id
    # The old session stays ended: reactivation revives nothing.
    assert api_client.get(ME, **bearer(old_access)).status_code == HTTPStatus.UNAUTHORIZED
