"""Every flow writes its audit event: the right type, actor, subject and org, and never a secret.

Also: a failed sign-in is kept (committed) although its request fails, and a rolled-back change
leaves no event. Events are read through the cross-tenant path (``tests.audit.helpers``).
"""

from __future__ import annotations

import json
from http import HTTPStatus
from io import StringIO
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.db import transaction

from accounts.models import Session, User
from tenants.audit import AuditEventType as E
from tenants.models import Membership, Organization
from tenants.policy import MembershipRole
from tenants.rls.context import cross_tenant, tenant_context
from tests.api import AUTH, bearer, claims, login
from tests.audit.helpers import assert_no_secret_stored, committed_events, events, only, token_secrets
from tests.factories import DEFAULT_PASSWORD, add_member, make_org, make_user

NEW_PASSWORD = "a brand new passphrase 42"


def signed_in(client, email: str = "ada@example.com", **extra) -> dict:
    response = login(client, email, **extra)
    assert response.status_code == HTTPStatus.OK, response.content
    return response.json()


def sid(body: dict) -> str:
    return claims(body["access"])["sid"]


# --- Sign-in ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_login_records_sign_in_succeeded_with_method_password(api_client, user, org):
    body = signed_in(api_client)

    event = only(E.SIGN_IN_SUCCEEDED)
    assert event.org_id == org.id
    assert event.actor_user_id == user.id
    assert event.subject_user_id == user.id
    assert (event.subject_type, event.subject_id) == ("session", sid(body))
    assert event.details == {"method": "password", "amr": ["pwd"]}
    assert event.ip == "127.0.0.1"
    assert_no_secret_stored(DEFAULT_PASSWORD, *token_secrets(body))


@pytest.mark.django_db
def test_oauth_token_records_sign_in_succeeded_with_method_oauth_token(api_client, user, org):
    response = api_client.post(
        f"{AUTH}/token/",
        urlencode({"grant_type": "password", "username": user.email, "password": DEFAULT_PASSWORD}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == HTTPStatus.OK
    body = response.json()

    event = only(E.SIGN_IN_SUCCEEDED)
    assert (event.org_id, event.actor_user_id, event.subject_user_id) == (org.id, user.id, user.id)
    assert event.subject_id == claims(body["access_token"])["sid"]
    assert event.details["method"] == "oauth_token"
    assert_no_secret_stored(DEFAULT_PASSWORD, *token_secrets(body))


@pytest.mark.django_db
def test_devlogin_records_org_membership_and_sign_in_with_method_devlogin(settings):
    settings.DEBUG = True
    out = StringIO()

    call_command("devlogin", "dev@example.com", "--org", "Dev Org", stdout=out)

    body = json.loads(out.getvalue())
    user = User.objects.get(email="dev@example.com")
    org = Organization.objects.get(slug="dev-org")
    sign_in = only(E.SIGN_IN_SUCCEEDED)
    assert (sign_in.org_id, sign_in.actor_user_id, sign_in.subject_user_id) == (org.id, user.id, user.id)
    assert sign_in.subject_id == sid(body)
    assert sign_in.details == {"method": "devlogin", "amr": []}
    assert sign_in.user_agent == "manage.py devlogin"
    created = only(E.ORG_CREATED)
    assert (created.org_id, created.actor_user_id, created.subject_id) == (org.id, user.id, str(org.id))
    assert only(E.MEMBERSHIP_CREATED).details == {"role": "owner"}
    assert_no_secret_stored(*token_secrets(body))


@pytest.mark.django_db
def test_register_records_user_registered_org_created_membership_created_and_sign_in(api_client):
    password = "registering is fun 77"
    response = api_client.post(
        f"{AUTH}/register/",
        {"email": "new@example.com", "password": password, "organization_name": "Newco"},
        format="json",
    )
    assert response.status_code == HTTPStatus.CREATED, response.content
    body = response.json()
    user = User.objects.get(email="new@example.com")
    org = Organization.objects.get(slug="newco")
    with cross_tenant():
        membership = Membership.objects.get(user=user, org=org)

    assert [e.type for e in events()] == [
        E.ORG_CREATED,
        E.MEMBERSHIP_CREATED,
        E.USER_REGISTERED,
        E.EMAIL_VERIFICATION_REQUESTED,  # the new address is sent its verification link
        E.SIGN_IN_SUCCEEDED,
    ]
    registered = only(E.USER_REGISTERED)
    assert (registered.org_id, registered.actor_user_id, registered.subject_user_id) == (
        org.id,
        user.id,
        user.id,
    )
    org_created = only(E.ORG_CREATED)
    assert (org_created.org_id, org_created.actor_user_id) == (org.id, user.id)
    assert (org_created.subject_type, org_created.subject_id) == ("organization", str(org.id))
    membership_created = only(E.MEMBERSHIP_CREATED)
    assert (membership_created.org_id, membership_created.subject_user_id) == (org.id, user.id)
    assert (membership_created.subject_type, membership_created.subject_id) == (
        "membership",
        str(membership.id),
    )
    assert membership_created.details == {"role": "owner"}
    sign_in = only(E.SIGN_IN_SUCCEEDED)
    assert (sign_in.org_id, sign_in.subject_user_id, sign_in.subject_id) == (org.id, user.id, sid(body))
    assert sign_in.details["method"] == "registration"
    assert_no_secret_stored(password, user.password, *token_secrets(body))


@pytest.mark.django_db
def test_make_org_records_org_created_and_membership_created():
    owner = make_user(email="owner@example.com")
    org = make_org(name="Initech", owner=owner)

    created = only(E.ORG_CREATED)
    assert (created.org_id, created.actor_user_id, created.subject_user_id) == (org.id, owner.id, None)
    assert (created.subject_type, created.subject_id) == ("organization", str(org.id))
    membership = only(E.MEMBERSHIP_CREATED)
    assert (membership.org_id, membership.subject_user_id) == (org.id, owner.id)
    assert membership.details == {"role": "owner"}


@pytest.mark.django_db(transaction=True)
def test_failed_sign_ins_record_their_reason_and_answer_the_same_401(api_client, user, org):
    unknown = login(api_client, "nobody@example.com", "guess number one")
    wrong = login(api_client, user.email, "guess number two")

    assert unknown.status_code == wrong.status_code == HTTPStatus.UNAUTHORIZED
    assert (
        unknown.json()
        == wrong.json()
        == {"detail": "Invalid email or password.", "code": "invalid_credentials"}
    )
    failures = events(type=E.SIGN_IN_FAILED)
    assert [(e.subject_user_id, e.actor_user_id, e.org_id, e.details) for e in failures] == [
        (None, None, None, {"method": "password", "reason": "unknown_email", "email": "nobody@example.com"}),
        (user.id, None, None, {"method": "password", "reason": "wrong_password"}),
    ]
    assert_no_secret_stored("guess number one", "guess number two", DEFAULT_PASSWORD)


@pytest.mark.django_db(transaction=True)
def test_failed_sign_in_is_committed_although_the_request_fails(api_client, user, org):
    response = login(api_client, user.email, "not the password")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert committed_events(type=E.SIGN_IN_FAILED, subject_user=user) == [
        (E.SIGN_IN_FAILED, {"method": "password", "reason": "wrong_password"})
    ]


@pytest.mark.django_db(transaction=True)
def test_failed_oauth_token_sign_in_is_committed_with_method_oauth_token(api_client, user, org):
    response = api_client.post(
        f"{AUTH}/token/",
        urlencode({"grant_type": "password", "username": user.email, "password": "nope nope nope"}),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code in (HTTPStatus.BAD_REQUEST, HTTPStatus.UNAUTHORIZED)
    assert committed_events(type=E.SIGN_IN_FAILED) == [
        (E.SIGN_IN_FAILED, {"method": "oauth_token", "reason": "wrong_password"})
    ]


@pytest.mark.django_db(transaction=True)
def test_inactive_user_sign_in_fails_with_reason_inactive_user(api_client, user, org):
    user.is_active = False
    user.save()

    assert login(api_client, user.email).status_code == HTTPStatus.UNAUTHORIZED
    assert only(E.SIGN_IN_FAILED).details == {"method": "password", "reason": "inactive_user"}


@pytest.mark.django_db
def test_many_throttled_sign_ins_record_one_event_per_bucket(api_client, user, org):
    statuses = [login(api_client, user.email, f"wrong guess {n}").status_code for n in range(45)]

    refused = statuses.count(HTTPStatus.TOO_MANY_REQUESTS)
    assert refused >= 30  # many 429s ...
    throttled = events(type=E.SIGN_IN_THROTTLED)
    buckets = [e.details["bucket"] for e in throttled]
    assert len(buckets) == len(set(buckets))  # ... but one event per bucket
    assert "login_email_network" in buckets
    assert len(throttled) < refused
    for event in throttled:
        assert (event.org_id, event.actor_user_id, event.subject_user_id) == (None, None, user.id)
        assert set(event.details) == {"bucket", "limit", "period_seconds"}
    assert_no_secret_stored(*(f"wrong guess {n}" for n in range(45)))


# --- Sessions --------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_refresh_replay_after_grace_records_refresh_reused(api_client, settings, user, org):
    settings.JWT_REFRESH_REUSE_GRACE_SECONDS = 0
    body = signed_in(api_client)
    rotated = api_client.post(f"{AUTH}/refresh/", {"refresh": body["refresh"]}, format="json")
    assert rotated.status_code == HTTPStatus.OK

    replay = api_client.post(f"{AUTH}/refresh/", {"refresh": body["refresh"]}, format="json")

    assert replay.status_code == HTTPStatus.UNAUTHORIZED
    event = only(E.SESSION_REFRESH_REUSED)
    assert (event.org_id, event.actor_user_id, event.subject_user_id) == (None, user.id, user.id)
    assert (event.subject_type, event.subject_id) == ("session", sid(body))
    assert event.details == {"session_org_id": str(org.id)}
    assert Session.objects.get(id=sid(body)).revoked_at is not None
    assert committed_events(type=E.SESSION_REFRESH_REUSED) == [(E.SESSION_REFRESH_REUSED, event.details)]
    assert_no_secret_stored(DEFAULT_PASSWORD, *token_secrets(body, rotated.json()))


@pytest.mark.django_db
def test_refresh_duplicate_within_grace_records_refresh_grace(api_client, user, org):
    body = signed_in(api_client)
    first = api_client.post(f"{AUTH}/refresh/", {"refresh": body["refresh"]}, format="json")
    duplicate = api_client.post(f"{AUTH}/refresh/", {"refresh": body["refresh"]}, format="json")

    assert first.status_code == duplicate.status_code == HTTPStatus.OK
    event = only(E.SESSION_REFRESH_GRACE)
    assert (event.org_id, event.actor_user_id, event.subject_user_id) == (None, user.id, user.id)
    assert (event.subject_type, event.subject_id) == ("session", sid(body))
    assert events(type=E.SESSION_REFRESH_REUSED) == []
    assert_no_secret_stored(*token_secrets(body, first.json(), duplicate.json()))


@pytest.mark.django_db
def test_logout_records_session_logged_out(api_client, user, org):
    body = signed_in(api_client)

    response = api_client.post(
        f"{AUTH}/logout/", {"refresh": body["refresh"]}, format="json", **bearer(body["access"])
    )

    assert response.status_code == HTTPStatus.NO_CONTENT
    event = only(E.SESSION_LOGGED_OUT)
    assert (event.org_id, event.actor_user_id, event.subject_user_id) == (None, user.id, user.id)
    assert event.details == {"reason": "logout", "sessions_revoked": 1, "session_id": sid(body)}
    assert_no_secret_stored(*token_secrets(body))


@pytest.mark.django_db
def test_logout_all_records_one_session_logged_out_all(api_client, user, org):
    first, second = signed_in(api_client), signed_in(api_client)

    response = api_client.post(f"{AUTH}/logout-all/", **bearer(second["access"]))

    assert response.status_code == HTTPStatus.NO_CONTENT
    event = only(E.SESSION_LOGGED_OUT_ALL)
    assert (event.actor_user_id, event.subject_user_id) == (user.id, user.id)
    assert event.details == {"reason": "logout_all", "sessions_revoked": 2}
    assert_no_secret_stored(*token_secrets(first, second))


@pytest.mark.django_db
def test_deleting_a_session_records_session_revoked(api_client, user, org):
    current, other = signed_in(api_client), signed_in(api_client)

    response = api_client.delete(f"{AUTH}/sessions/{sid(other)}/", **bearer(current["access"]))

    assert response.status_code == HTTPStatus.NO_CONTENT
    event = only(E.SESSION_REVOKED)
    assert (event.actor_user_id, event.subject_user_id) == (user.id, user.id)
    assert event.details == {"reason": "revoked_by_user", "sessions_revoked": 1, "session_id": sid(other)}


@pytest.mark.django_db
def test_admin_revoke_action_records_session_revoked_by_the_staff_user(client, api_client, user, org):
    body = signed_in(api_client)
    staff = User.objects.create_superuser("root@example.com", "staff password 99")
    client.force_login(staff)

    response = client.post(
        "/admin/accounts/session/", {"action": "revoke_sessions", "_selected_action": [sid(body)]}
    )

    assert response.status_code == HTTPStatus.FOUND
    event = only(E.SESSION_REVOKED)
    assert (event.actor_user_id, event.subject_user_id) == (staff.id, user.id)
    assert event.details == {"reason": "admin", "sessions_revoked": 1, "session_id": sid(body)}


@pytest.mark.django_db
def test_admin_sign_out_everywhere_records_session_revoked(client, api_client, user, org):
    signed_in(api_client)
    staff = User.objects.create_superuser("root@example.com", "staff password 99")
    client.force_login(staff)

    response = client.post(
        "/admin/accounts/user/", {"action": "revoke_all_sessions", "_selected_action": [str(user.id)]}
    )

    assert response.status_code == HTTPStatus.FOUND
    event = only(E.SESSION_REVOKED)
    assert (event.actor_user_id, event.subject_user_id) == (staff.id, user.id)
    assert event.details == {"reason": "admin", "sessions_revoked": 1}


@pytest.mark.django_db
def test_switch_org_records_session_switched_org_in_the_new_org(api_client, user, org, other_org):
    add_member(org=other_org, user=user)
    body = signed_in(api_client, org=org.slug)

    response = api_client.post(
        f"{AUTH}/switch-org/", {"org_id": str(other_org.id)}, format="json", **bearer(body["access"])
    )

    assert response.status_code == HTTPStatus.OK, response.content
    switched = response.json()
    event = only(E.SESSION_SWITCHED_ORG)
    assert (event.org_id, event.actor_user_id, event.subject_user_id) == (other_org.id, user.id, user.id)
    assert (event.subject_type, event.subject_id) == ("session", sid(switched))
    assert event.details == {"previous_session_id": sid(body)}
    assert_no_secret_stored(*token_secrets(body, switched))


@pytest.mark.django_db
def test_admin_sign_ins_record_success_and_failure(client):
    staff = User.objects.create_superuser("root@example.com", "staff password 99")

    failed = client.post("/admin/login/", {"username": staff.email, "password": "not it at all"})
    succeeded = client.post("/admin/login/", {"username": staff.email, "password": "staff password 99"})

    assert failed.status_code == HTTPStatus.OK
    assert succeeded.status_code == HTTPStatus.FOUND
    failure = only(E.SIGN_IN_FAILED)
    assert (failure.actor_user_id, failure.subject_user_id) == (None, staff.id)
    assert failure.details == {"method": "admin", "reason": "wrong_password_or_not_staff"}
    success = only(E.SIGN_IN_SUCCEEDED)
    assert (success.actor_user_id, success.subject_user_id, success.details) == (
        staff.id,
        staff.id,
        {"method": "admin"},
    )
    assert_no_secret_stored("not it at all", "staff password 99")


# --- Users and memberships (model-level rules) -----------------------------------------------------


@pytest.mark.django_db
def test_password_change_records_user_password_changed_without_the_password(user):
    user.set_password(NEW_PASSWORD)
    user.save()

    event = only(E.USER_PASSWORD_CHANGED)
    assert (event.org_id, event.actor_user_id, event.subject_user_id) == (None, None, user.id)
    assert event.details == {"usable": True}
    assert_no_secret_stored(NEW_PASSWORD, user.password)


@pytest.mark.django_db
def test_deactivation_and_reactivation_are_recorded(user):
    user.is_active = False
    user.save()
    user.is_active = True
    user.save()
    user.save()  # no change: no event

    assert [(e.type, e.subject_user_id, e.org_id) for e in events(subject_user=user)] == [
        (E.USER_DEACTIVATED, user.id, None),
        (E.USER_REACTIVATED, user.id, None),
    ]


@pytest.mark.django_db
def test_membership_role_change_ending_reactivation_and_deletion_are_recorded(org):
    member = make_user(email="grace@example.com")
    kept = add_member(org=org, user=member)
    doomed = add_member(org=org, user=make_user(email="otto@example.com"))

    with tenant_context(org.id):
        membership = Membership.objects.get(id=kept.id)
        membership.role = MembershipRole.ADMIN
        membership.save()
        membership.is_active = False
        membership.save()
        membership.is_active = True
        membership.save()
        Membership.objects.get(id=doomed.id).delete()

    recorded = [
        (e.type, e.org_id, e.subject_user_id, e.subject_type, e.subject_id, e.details)
        for e in events(type__in=[E.MEMBERSHIP_ROLE_CHANGED, E.MEMBERSHIP_ENDED, E.MEMBERSHIP_REACTIVATED])
    ]
    assert recorded == [
        (
            E.MEMBERSHIP_ROLE_CHANGED,
            org.id,
            member.id,
            "membership",
            str(kept.id),
            {"from": "member", "to": "admin"},
        ),
        (E.MEMBERSHIP_ENDED, org.id, member.id, "membership", str(kept.id), {"role": "admin"}),
        (E.MEMBERSHIP_REACTIVATED, org.id, member.id, "membership", str(kept.id), {"role": "admin"}),
        (
            E.MEMBERSHIP_ENDED,
            org.id,
            doomed.user_id,
            "membership",
            str(doomed.id),
            {"role": "member", "deleted": True},
        ),
    ]


# --- Rolled back: no event -------------------------------------------------------------------------


@pytest.mark.django_db
def test_rolled_back_password_change_leaves_no_event(user):
    with pytest.raises(RuntimeError), transaction.atomic():
        user.set_password(NEW_PASSWORD)
        user.save()
        assert len(events(type=E.USER_PASSWORD_CHANGED)) == 1  # written, in the change's transaction
        raise RuntimeError

    assert events(type=E.USER_PASSWORD_CHANGED) == []


@pytest.mark.django_db
def test_rolled_back_membership_change_leaves_no_event(org):
    member = add_member(org=org, user=make_user(email="grace@example.com"))

    with pytest.raises(RuntimeError), tenant_context(org.id):
        membership = Membership.objects.get(id=member.id)
        membership.role = MembershipRole.ADMIN
        membership.save()
        raise RuntimeError

    assert events(type=E.MEMBERSHIP_ROLE_CHANGED) == []


@pytest.mark.django_db(transaction=True)
def test_register_refused_for_a_taken_org_slug_leaves_no_user_registered(api_client, org):
    response = api_client.post(
        f"{AUTH}/register/",
        {"email": "late@example.com", "password": "registering is fun 77", "organization_name": "Acme"},
        format="json",
    )

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["code"] == "org_slug_taken"
    assert not User.objects.filter(email="late@example.com").exists()
    assert events(type=E.USER_REGISTERED) == []
    assert [e.type for e in events()] == [E.ORG_CREATED, E.MEMBERSHIP_CREATED]  # the fixture org's only


# --- More routes to the same events ----------------------------------------------------------------


@pytest.mark.django_db
def test_post_orgs_records_org_created_and_membership_created_by_the_caller(api_client, user, org):
    body = signed_in(api_client)

    response = api_client.post(
        f"{AUTH}/orgs/", {"name": "Second Co"}, format="json", **bearer(body["access"])
    )

    assert response.status_code == HTTPStatus.CREATED, response.content
    second = Organization.objects.get(slug="second-co")
    created = only(E.ORG_CREATED, org=second)
    assert (created.actor_user_id, created.subject_id) == (user.id, str(second.id))
    membership = only(E.MEMBERSHIP_CREATED, org=second)
    assert (membership.actor_user_id, membership.subject_user_id, membership.details) == (
        user.id,
        user.id,
        {"role": "owner"},
    )


@pytest.mark.django_db
def test_admin_password_form_records_user_password_changed_by_the_staff_user(client, user):
    staff = User.objects.create_superuser("root@example.com", "staff password 99")
    client.force_login(staff)

    response = client.post(
        f"/admin/accounts/user/{user.id}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )

    assert response.status_code == HTTPStatus.FOUND, response.content[:2000]
    event = only(E.USER_PASSWORD_CHANGED)
    assert (event.actor_user_id, event.subject_user_id, event.org_id) == (staff.id, user.id, None)
    assert_no_secret_stored(NEW_PASSWORD, "staff password 99")


@pytest.mark.django_db
def test_admin_membership_role_change_records_role_changed_by_the_staff_user(client, org):
    member = add_member(org=org, user=make_user(email="grace@example.com"))
    staff = User.objects.create_superuser("root@example.com", "staff password 99")
    client.force_login(staff)

    response = client.post(
        f"/admin/tenants/membership/{member.id}/change/",
        {"user": str(member.user_id), "org": str(org.id), "role": "admin", "is_active": "on"},
    )

    assert response.status_code == HTTPStatus.FOUND, response.content[:2000]
    event = only(E.MEMBERSHIP_ROLE_CHANGED)
    assert (event.org_id, event.actor_user_id, event.subject_user_id) == (org.id, staff.id, member.user_id)
    assert event.details == {"from": "member", "to": "admin"}


@pytest.mark.django_db
def test_deleting_an_org_takes_its_events_and_records_no_membership_ended(org, other_org):
    add_member(org=org, user=make_user(email="grace@example.com"))
    globex_events = {e.id for e in events(org=other_org)}

    with cross_tenant():
        Organization.objects.get(id=org.id).delete()

    assert events(org_id=org.id) == []
    assert {e.id for e in events(org=other_org)} == globex_events
    assert events(type=E.MEMBERSHIP_ENDED) == []


@pytest.mark.django_db
def test_refused_switch_org_leaves_no_event_and_keeps_the_session(api_client, user, org, other_org):
    body = signed_in(api_client)

    response = api_client.post(
        f"{AUTH}/switch-org/", {"org_id": str(other_org.id)}, format="json", **bearer(body["access"])
    )

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "not_a_member"
    assert events(type__in=[E.SESSION_SWITCHED_ORG, E.SESSION_REVOKED]) == []
    assert Session.objects.get(id=sid(body)).revoked_at is None


@pytest.mark.django_db
def test_throttled_oauth_token_guesses_record_the_user_as_subject(api_client, user, org):
    for n in range(15):
        api_client.post(
            f"{AUTH}/token/",
            urlencode({"grant_type": "password", "username": user.email, "password": f"guess {n}"}),
            content_type="application/x-www-form-urlencoded",
        )

    throttled = events(type=E.SIGN_IN_THROTTLED)
    assert [e.details["bucket"] for e in throttled] == ["login_email_network"]
    assert throttled[0].subject_user_id == user.id
