"""Revocation is final (API.md "The token pair"): deactivation, an ended or moved membership and any
password change end sessions for good, whatever the route, so reactivating revives nothing."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.utils import timezone

from accounts import tokens
from accounts.models import Session, User
from tenants.models import Membership
from tenants.rls.context import cross_tenant, tenant_context
from tests.api import AUTH, bearer, claims, login
from tests.factories import DEFAULT_PASSWORD, add_member, make_user

NEW_PASSWORD = "a brand new long passphrase"


def me_status(client, access: str) -> int:
    return client.get(f"{AUTH}/me/", **bearer(access)).status_code


def refresh_status(client, refresh: str) -> int:
    return client.post(f"{AUTH}/refresh/", {"refresh": refresh}, format="json").status_code


def revoked_reasons(user) -> set[str]:
    return set(Session.objects.filter(user=user).values_list("revoked_reason", flat=True))


@pytest.fixture
def pair(api_client, user, org) -> dict:
    response = login(api_client, "ada@example.com")
    assert response.status_code == HTTPStatus.OK
    return response.json()


# --- 1. Deactivation ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_deactivated_user_saved_and_reactivated_gets_no_session_back(api_client, user, pair):
    user.is_active = False
    user.save()
    user.is_active = True
    user.save()

    assert me_status(api_client, pair["access"]) == HTTPStatus.UNAUTHORIZED
    assert Session.objects.get(user=user).revoked_reason == "user_deactivated"


@pytest.mark.django_db
def test_deactivation_by_queryset_update_also_ends_sessions_for_good(api_client, user, pair):
    User.objects.filter(pk=user.pk).update(is_active=False)
    User.objects.filter(pk=user.pk).update(is_active=True)

    assert me_status(api_client, pair["access"]) == HTTPStatus.UNAUTHORIZED
    assert revoked_reasons(user) == {"user_deactivated"}


@pytest.mark.django_db(transaction=True)
def test_deactivation_by_a_management_command_ends_sessions_for_good(api_client, user, org, pair):
    call_command(
        "shell",
        command="from accounts.models import User; u = User.objects.get(email='ada@example.com'); "
        "u.is_active = False; u.save(); u.is_active = True; u.save()",
    )

    assert refresh_status(api_client, pair["refresh"]) == HTTPStatus.UNAUTHORIZED
    assert me_status(api_client, pair["access"]) == HTTPStatus.UNAUTHORIZED
    assert revoked_reasons(user) == {"user_deactivated"}


@pytest.mark.django_db
def test_deactivation_in_the_admin_ends_sessions_for_good(client, api_client, user, pair):
    client.force_login(User.objects.create_superuser(email="root@example.com", password=DEFAULT_PASSWORD))
    form = {
        "email": user.email,
        "first_name": "",
        "last_name": "",
        "is_staff": "",
        "is_superuser": "",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
    }  # is_active left out: the checkbox is unticked

    response = client.post(f"/admin/accounts/user/{user.pk}/change/", form)

    assert response.status_code == HTTPStatus.FOUND
    User.objects.filter(pk=user.pk).update(is_active=True)
    assert me_status(api_client, pair["access"]) == HTTPStatus.UNAUTHORIZED
    assert revoked_reasons(user) == {"user_deactivated"}


@pytest.mark.django_db
def test_sessions_started_after_reactivation_work(api_client, user, pair):
    User.objects.filter(pk=user.pk).update(is_active=False)
    User.objects.filter(pk=user.pk).update(is_active=True)

    fresh = login(api_client, "ada@example.com").json()

    assert me_status(api_client, fresh["access"]) == HTTPStatus.OK


@pytest.mark.django_db
def test_ended_and_restored_membership_revives_no_session(api_client, user, org, pair):
    with tenant_context(org.id):
        Membership.objects.filter(user=user).update(is_active=False)
        Membership.objects.filter(user=user).update(is_active=True)

    assert me_status(api_client, pair["access"]) == HTTPStatus.UNAUTHORIZED
    assert Session.objects.get(user=user).revoked_reason == "membership_ended"


@pytest.mark.django_db
def test_ending_one_membership_leaves_sessions_in_other_orgs_alone(api_client, user, org, other_org):
    add_member(org=other_org, user=user)
    acme = login(api_client, "ada@example.com", org="acme").json()
    globex = login(api_client, "ada@example.com", org="globex").json()

    with tenant_context(org.id):
        Membership.objects.filter(user=user).update(is_active=False)

    assert me_status(api_client, acme["access"]) == HTTPStatus.UNAUTHORIZED
    assert me_status(api_client, globex["access"]) == HTTPStatus.OK


# --- 3. The membership belongs to the session's user --------------------------------------------------


@pytest.mark.django_db
def test_membership_moved_to_another_user_ends_its_sessions(api_client, user, org, pair):
    mallory = make_user(email="mallory@example.com")
    with cross_tenant():  # what the admin's membership form does
        membership = Membership.objects.get(user=user, org=org)
        membership.user = mallory
        membership.save()

    assert me_status(api_client, pair["access"]) == HTTPStatus.UNAUTHORIZED
    assert revoked_reasons(user) == {"membership_ended"}


@pytest.fixture
def session_on_someone_elses_membership(user, org):
    """A session of ``user`` resting on another member's membership: the state a reassigned membership
    would leave behind if anything skipped the trigger. Its pair is genuinely signed."""
    bob = make_user(email="bob@example.com")
    stolen = add_member(org=org, user=bob)
    now = timezone.now()
    session = Session.objects.create(
        user=user,
        membership=stolen,
        active_org_id=org.id,
        amr=["pwd"],
        expires_at=now + timedelta(days=1),
        issued_at=int(now.timestamp()),
    )
    return tokens.pair_for_session(session)


@pytest.mark.django_db
def test_access_token_on_a_membership_of_another_user_is_refused(
    api_client, session_on_someone_elses_membership
):
    assert me_status(api_client, session_on_someone_elses_membership.access) == HTTPStatus.UNAUTHORIZED


@pytest.mark.django_db(transaction=True)
def test_refresh_on_a_membership_of_another_user_is_refused(api_client, session_on_someone_elses_membership):
    pair = session_on_someone_elses_membership

    assert refresh_status(api_client, pair.refresh) == HTTPStatus.UNAUTHORIZED
    assert Session.objects.get(id=claims(pair.refresh)["sid"]).refresh_jti.hex == claims(pair.refresh)["jti"]


# --- 2. Any password change ends the user's sessions ------------------------------------------------


@pytest.mark.django_db
def test_set_password_and_save_ends_every_session(api_client, user, pair):
    other = login(api_client, "ada@example.com").json()

    user.set_password(NEW_PASSWORD)
    user.save()

    assert me_status(api_client, pair["access"]) == HTTPStatus.UNAUTHORIZED
    assert me_status(api_client, other["access"]) == HTTPStatus.UNAUTHORIZED
    assert revoked_reasons(user) == {"password_changed"}


@pytest.mark.django_db
def test_removing_the_password_ends_every_session(api_client, user, pair):
    user.set_unusable_password()
    user.save()

    assert me_status(api_client, pair["access"]) == HTTPStatus.UNAUTHORIZED


@pytest.mark.django_db
def test_manage_py_changepassword_ends_every_session(api_client, user, pair, monkeypatch):
    monkeypatch.setattr("getpass.getpass", lambda prompt="": NEW_PASSWORD)

    call_command("changepassword", "ada@example.com", stdout=None)

    assert me_status(api_client, pair["access"]) == HTTPStatus.UNAUTHORIZED
    assert revoked_reasons(user) == {"password_changed"}
    assert login(api_client, "ada@example.com", NEW_PASSWORD).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_saving_other_fields_keeps_the_sessions(api_client, user, pair):
    user.first_name = "Ada"
    user.save()

    assert me_status(api_client, pair["access"]) == HTTPStatus.OK


@pytest.mark.django_db
def test_a_password_hash_upgraded_at_sign_in_ends_no_session(api_client, user, org):
    User.objects.filter(pk=user.pk).update(password=make_password(DEFAULT_PASSWORD, hasher="pbkdf2_sha256"))
    first = login(api_client, "ada@example.com").json()  # upgrades the hash to the preferred hasher

    second = login(api_client, "ada@example.com").json()

    assert not User.objects.get(pk=user.pk).password.startswith("pbkdf2_sha256$")
    assert me_status(api_client, first["access"]) == HTTPStatus.OK
    assert me_status(api_client, second["access"]) == HTTPStatus.OK


@pytest.mark.django_db
def test_a_password_changed_by_queryset_update_ends_every_session(api_client, user, pair):
    User.objects.filter(pk=user.pk).update(password=make_password(NEW_PASSWORD))

    assert me_status(api_client, pair["access"]) == HTTPStatus.UNAUTHORIZED
    assert revoked_reasons(user) == {"password_changed"}


@pytest.mark.django_db
def test_a_hash_assigned_by_hand_and_saved_ends_every_session(api_client, user, pair):
    user.password = make_password(NEW_PASSWORD)
    user.save()

    assert me_status(api_client, pair["access"]) == HTTPStatus.UNAUTHORIZED
