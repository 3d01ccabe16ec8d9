"""Step-up: sensitive actions answer 403 ``reauthentication_required`` unless the session signed in or
re-authenticated within ``AUTH_REAUTH_MINUTES``; ``reauthenticate/`` (password or code) renews it
(API.md "Multi-factor authentication"). The clock is moved by dating ``Session.authenticated_at`` back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import RecoveryCode
from invitations.models import Invitation
from tenants.audit import AuditEventType as E
from tenants.models import Membership
from tenants.policy import MembershipRole
from tenants.rls.context import tenant_context
from tests.api import AUTH, bearer
from tests.apikeys.helpers import member_url, new_key, roll_url, with_key
from tests.audit.helpers import only
from tests.factories import add_member, make_user
from tests.invitations.helpers import accept, create, invite, resend_url
from tests.mfa.helpers import (
    API_KEYS,
    CONFIRM,
    INVALID_CODE,
    NEW_PASSWORD,
    ORG,
    PASSWORD,
    PASSWORD_CHANGE,
    REAUTHENTICATE,
    REAUTHENTICATION_REQUIRED,
    RECOVERY_CODES,
    REFRESH,
    SETUP,
    SWITCH_ORG,
    TOTP,
    Enrolled,
    assert_error,
    mfa_token_for,
    post,
    session_of,
    sign_in_long_ago,
    signed_in,
    throttle_rates,
    verify,
)


@dataclass
class Scene:
    """Acme: Ada (owner, MFA on, her enrolling session), Bob (member), one API key."""

    ada: Enrolled
    bob: Membership
    key: dict


@pytest.fixture
def scene(api_client, org, ada_mfa) -> Scene:
    bob = add_member(org=org, user=make_user(email="bob@example.com"), role=MembershipRole.MEMBER)
    return Scene(ada=ada_mfa, bob=bob, key=new_key(api_client, ada_mfa.access))


def _password_change(client, access: str, scene: Scene):
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    return post(client, PASSWORD_CHANGE, body, access)


def _recovery_codes(client, access: str, scene: Scene):
    return post(client, RECOVERY_CODES, access=access)


def _api_key_create(client, access: str, scene: Scene):
    return post(client, API_KEYS, {"name": "Deploy"}, access)


def _api_key_roll(client, access: str, scene: Scene):
    return post(client, roll_url(scene.key["id"]), {}, access)


def _role_change(client, access: str, scene: Scene):
    return client.patch(member_url(scene.bob.id), {"role": "admin"}, format="json", **bearer(access))


def _org_delete(client, access: str, scene: Scene):
    return client.delete(ORG, {"confirm": "Acme"}, format="json", **bearer(access))


def _invite(role: str) -> Callable:
    def call(client, access: str, scene: Scene):
        return create(client, access, f"{role}-invitee@example.com", role)

    return call


def _resend_an_admin_invitation(client, access: str, scene: Scene):
    invited = create(client, access, "nia@example.com", "member")  # a member's: no step-up needed
    assert invited.status_code == HTTPStatus.CREATED, invited.content
    with tenant_context(scene.bob.org_id):
        Invitation.objects.filter(id=invited.json()["id"]).update(role="admin")
    return client.post(resend_url(invited.json()["id"]), **bearer(access))


def _member_remove(client, access: str, scene: Scene):
    return client.delete(member_url(scene.bob.id), **bearer(access))


SENSITIVE: dict[str, tuple[Callable, int]] = {
    "invite-admin": (_invite("admin"), HTTPStatus.CREATED),
    "invite-owner": (_invite("owner"), HTTPStatus.CREATED),
    "invitation-resend-admin": (_resend_an_admin_invitation, HTTPStatus.OK),
    "member-remove": (_member_remove, HTTPStatus.NO_CONTENT),
    "password-change": (_password_change, HTTPStatus.OK),
    "recovery-codes": (_recovery_codes, HTTPStatus.OK),
    "api-key-create": (_api_key_create, HTTPStatus.CREATED),
    "api-key-roll": (_api_key_roll, HTTPStatus.CREATED),
    "member-role-change": (_role_change, HTTPStatus.OK),
    "org-delete": (_org_delete, HTTPStatus.NO_CONTENT),
}


def reauthenticate(client, access: str, **proof):
    return post(client, REAUTHENTICATE, proof, access)


# --- The sensitive actions -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("action", SENSITIVE)
def test_a_sensitive_action_in_a_session_signed_in_long_ago_is_403(api_client, scene, action):
    sign_in_long_ago(scene.ada.access)
    call, _ = SENSITIVE[action]

    response = call(api_client, scene.ada.access, scene)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == REAUTHENTICATION_REQUIRED


@pytest.mark.django_db
@pytest.mark.parametrize("action", SENSITIVE)
def test_a_sensitive_action_succeeds_right_after_reauthenticating_with_the_password(
    api_client, scene, action
):
    sign_in_long_ago(scene.ada.access)
    call, success = SENSITIVE[action]
    assert reauthenticate(api_client, scene.ada.access, password=PASSWORD).status_code == HTTPStatus.OK

    response = call(api_client, scene.ada.access, scene)

    assert response.status_code == success, response.content


@pytest.mark.django_db
@pytest.mark.parametrize("action", SENSITIVE)
def test_a_sensitive_action_succeeds_right_after_reauthenticating_with_a_code(api_client, scene, action):
    sign_in_long_ago(scene.ada.access)
    call, success = SENSITIVE[action]
    code = scene.ada.authenticator.code()
    assert reauthenticate(api_client, scene.ada.access, code=code).status_code == HTTPStatus.OK

    response = call(api_client, scene.ada.access, scene)

    assert response.status_code == success, response.content


@pytest.mark.django_db
def test_inviting_or_resending_to_a_member_needs_no_recent_sign_in(api_client, scene, mailoutbox):
    sign_in_long_ago(scene.ada.access)

    invited = create(api_client, scene.ada.access, "nia@example.com", "member")
    resent = api_client.post(resend_url(invited.json()["id"]), **bearer(scene.ada.access))

    assert (invited.status_code, resent.status_code) == (HTTPStatus.CREATED, HTTPStatus.OK)


@pytest.mark.django_db
def test_an_old_owner_session_cannot_invite_an_owner_who_then_takes_over(api_client, scene, mailoutbox):
    """The review's reproduction: a two-hour-old owner token invited mallory@evil as owner (201)."""
    sign_in_long_ago(scene.ada.access, minutes=120)

    response = create(api_client, scene.ada.access, "mallory@evil.test", "owner")

    assert response.json() == REAUTHENTICATION_REQUIRED
    with tenant_context(scene.bob.org_id):  # RLS: the org's rows only in its context
        assert Invitation.objects.count() == 0
    assert mailoutbox == []


@pytest.mark.django_db
def test_mfa_setup_in_a_session_signed_in_long_ago_is_403(api_client, user, org):
    access = signed_in(api_client)["access"]
    sign_in_long_ago(access)

    response = post(api_client, SETUP, access=access)

    assert response.json() == REAUTHENTICATION_REQUIRED


@pytest.mark.django_db
def test_a_sign_in_nine_minutes_ago_is_recent_enough(api_client, scene):
    sign_in_long_ago(scene.ada.access, minutes=9)

    response = _api_key_create(api_client, scene.ada.access, scene)

    assert response.status_code == HTTPStatus.CREATED


@pytest.mark.django_db
def test_the_window_is_auth_reauth_minutes(api_client, scene, settings):
    settings.AUTH_REAUTH_MINUTES = 1
    sign_in_long_ago(scene.ada.access, minutes=2)

    response = _api_key_create(api_client, scene.ada.access, scene)

    assert response.json() == REAUTHENTICATION_REQUIRED


@pytest.mark.django_db
def test_finishing_a_sign_in_at_mfa_verify_counts_as_recent(api_client, scene):
    mfa_token = mfa_token_for(api_client)
    access = verify(api_client, mfa_token, code=scene.ada.authenticator.code()).json()["access"]

    response = _api_key_create(api_client, access, scene)

    assert response.status_code == HTTPStatus.CREATED


@pytest.mark.django_db
def test_signing_up_counts_as_recent(api_client, db):
    body = {"email": "nia@example.com", "password": NEW_PASSWORD, "organization_name": "Nia Labs"}
    registered = post(api_client, f"{AUTH}/register/", body)
    assert registered.status_code == HTTPStatus.CREATED, registered.content

    response = post(api_client, API_KEYS, {"name": "Deploy"}, registered.json()["access"])

    assert response.status_code == HTTPStatus.CREATED, response.content


@pytest.mark.django_db
def test_accepting_an_invitation_counts_as_recent(api_client, scene, mailoutbox):
    _, token = invite(api_client, scene.ada.access, mailoutbox, "nia@example.com", role="admin")
    accepted = accept(api_client, token, password=NEW_PASSWORD)
    assert accepted.status_code == HTTPStatus.CREATED, accepted.content

    response = post(api_client, API_KEYS, {"name": "Deploy"}, accepted.json()["access"])

    assert response.status_code == HTTPStatus.CREATED, response.content


@pytest.mark.django_db
def test_a_refresh_is_no_new_sign_in(api_client, scene):
    sign_in_long_ago(scene.ada.access)
    refreshed = post(api_client, REFRESH, {"refresh": scene.ada.refresh}).json()

    response = _api_key_create(api_client, refreshed["access"], scene)

    assert response.json() == REAUTHENTICATION_REQUIRED


@pytest.mark.django_db
def test_switching_org_is_no_new_sign_in(api_client, user, scene, other_org):
    add_member(org=other_org, user=user, role=MembershipRole.ADMIN)
    sign_in_long_ago(scene.ada.access)
    switched = post(api_client, SWITCH_ORG, {"org_id": str(other_org.id)}, scene.ada.access)
    assert switched.status_code == HTTPStatus.OK, switched.content

    response = _api_key_create(api_client, switched.json()["access"], scene)

    assert response.json() == REAUTHENTICATION_REQUIRED


@pytest.mark.django_db
def test_an_api_key_creating_keys_is_refused_as_a_key_not_asked_to_reauthenticate(api_client, scene):
    response = api_client.post(API_KEYS, {"name": "Minted"}, format="json", **with_key(scene.key["key"]))

    assert_error(response, HTTPStatus.FORBIDDEN, "api_key_not_allowed")


@pytest.mark.django_db
def test_an_api_key_changing_a_role_is_not_asked_to_reauthenticate(api_client, scene):
    """A key has no session and no person at a keyboard: its scopes govern it, not step-up."""
    writer = new_key(
        api_client, scene.ada.access, name="Provisioning", scopes=["members:read", "members:write"]
    )
    sign_in_long_ago(scene.ada.access)  # the key's creator is long gone: irrelevant to the key

    response = api_client.patch(
        member_url(scene.bob.id), {"role": "member"}, format="json", **with_key(writer["key"])
    )

    assert response.status_code == HTTPStatus.OK, response.content


# --- reauthenticate/ -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_reauthenticating_with_the_password_renews_the_sessions_sign_in(api_client, user, scene):
    sign_in_long_ago(scene.ada.access)

    response = reauthenticate(api_client, scene.ada.access, password=PASSWORD)

    assert response.status_code == HTTPStatus.OK
    assert set(response.json()) == {"reauthenticated_at"}
    at = parse_datetime(response.json()["reauthenticated_at"])
    assert abs(at - timezone.now()) < timedelta(seconds=10)
    assert session_of(scene.ada.access).authenticated_at == at
    event = only(E.SESSION_REAUTHENTICATED)
    assert event.details == {"method": "password"}
    assert (event.actor_user_id, event.subject_user_id) == (user.id, user.id)
    assert event.subject_id == str(session_of(scene.ada.access).id)


@pytest.mark.django_db
def test_reauthenticating_with_a_totp_code_is_recorded_as_totp(api_client, scene):
    response = reauthenticate(api_client, scene.ada.access, code=scene.ada.authenticator.code())

    assert response.status_code == HTTPStatus.OK, response.content
    assert only(E.SESSION_REAUTHENTICATED).details == {"method": "totp"}


@pytest.mark.django_db
def test_reauthenticating_with_a_recovery_code_spends_it(api_client, user, scene):
    response = reauthenticate(api_client, scene.ada.access, recovery_code=scene.ada.recovery_codes[0])

    assert response.status_code == HTTPStatus.OK, response.content
    assert only(E.SESSION_REAUTHENTICATED).details == {"method": "recovery_code"}
    assert RecoveryCode.objects.filter(user=user, used_at__isnull=True).count() == 9


@pytest.mark.django_db
def test_reauthenticating_with_a_wrong_password_is_400_and_renews_nothing(api_client, scene):
    sign_in_long_ago(scene.ada.access)
    before = session_of(scene.ada.access).authenticated_at

    response = reauthenticate(api_client, scene.ada.access, password="not my password at all")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"detail": "The password is not valid.", "code": "invalid_password"}
    assert session_of(scene.ada.access).authenticated_at == before


@pytest.mark.django_db
def test_reauthenticating_with_a_wrong_code_is_400_and_recorded(api_client, user, scene):
    sign_in_long_ago(scene.ada.access)
    before = session_of(scene.ada.access).authenticated_at

    response = reauthenticate(api_client, scene.ada.access, code=scene.ada.authenticator.wrong_code())

    assert response.json() == INVALID_CODE
    assert session_of(scene.ada.access).authenticated_at == before
    event = only(E.MFA_VERIFICATION_FAILED)
    assert (event.details, event.subject_user_id) == (
        {"context": "reauthenticate", "method": "totp"},
        user.id,
    )


@pytest.mark.django_db
def test_reauthenticating_with_a_code_without_mfa_is_400_mfa_not_enabled(api_client, user, org):
    access = signed_in(api_client)["access"]

    response = reauthenticate(api_client, access, code="123456")

    assert_error(response, HTTPStatus.BAD_REQUEST, "mfa_not_enabled")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "proof",
    [{}, {"password": PASSWORD, "code": "123456"}, {"code": "123456", "recovery_code": "abcde-fghij"}],
    ids=["none", "password-and-code", "code-and-recovery-code"],
)
def test_reauthenticate_takes_exactly_one_proof(api_client, scene, proof):
    response = reauthenticate(api_client, scene.ada.access, **proof)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "password" in response.json()


@pytest.mark.django_db
def test_reauthenticate_is_throttled_per_account(api_client, user, org, settings):
    throttle_rates(settings, reauthenticate_email="3/hour")
    make_user(email="bob@example.com")
    ada, bob = signed_in(api_client)["access"], signed_in(api_client, "bob@example.com")["access"]
    for _ in range(3):
        assert reauthenticate(api_client, ada, password="a wrong guess 1234").status_code == 400

    throttled = reauthenticate(api_client, ada, password=PASSWORD)
    other_account = reauthenticate(api_client, bob, password=PASSWORD)

    assert throttled.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert int(throttled["Retry-After"]) > 0
    assert other_account.status_code == HTTPStatus.OK


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", SETUP, {}),
        ("post", CONFIRM, {"code": "123456"}),
        ("delete", TOTP, {"password": PASSWORD}),
        ("post", RECOVERY_CODES, {}),
        ("post", REAUTHENTICATE, {"password": PASSWORD}),
    ],
    ids=["setup", "confirm", "disable", "recovery-codes", "reauthenticate"],
)
def test_the_mfa_endpoints_are_for_users_not_api_keys(api_client, scene, method, url, body):
    response = getattr(api_client, method)(url, body, format="json", **with_key(scene.key["key"]))

    assert_error(response, HTTPStatus.FORBIDDEN, "api_key_not_allowed")
