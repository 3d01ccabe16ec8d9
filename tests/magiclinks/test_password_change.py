"""``password/change/`` (Bearer): the caller carries on with a fresh pair in the same org; every other
session of the user, the caller's old one included, ends."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from accounts.models import Session
from tenants.audit import AuditEventType as E
from tenants.policy import MembershipRole
from tests.api import AUTH, bearer, claims, login
from tests.audit.helpers import assert_no_secret_stored, events, only
from tests.factories import DEFAULT_PASSWORD, add_member, make_user
from tests.magiclinks.helpers import MAGIC_VERIFY, ME, NEW_PASSWORD, PASSWORD_CHANGE, post, request_magic_link

ADA = "ada@example.com"


def signed_in(client, **extra) -> dict:
    response = login(client, ADA, **extra)
    assert response.status_code == HTTPStatus.OK, response.content
    return response.json()


def change(client, access: str, current: str = DEFAULT_PASSWORD, new: str = NEW_PASSWORD):
    return post(client, PASSWORD_CHANGE, {"current_password": current, "new_password": new}, **bearer(access))


def me(client, access: str):
    return client.get(ME, **bearer(access))


@pytest.mark.django_db
def test_without_a_bearer_token_is_401(api_client, user, org):
    response = post(
        api_client, PASSWORD_CHANGE, {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
    )

    assert response.status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.django_db
def test_a_wrong_current_password_is_400_invalid_password(api_client, user, org):
    pair = signed_in(api_client)

    response = change(api_client, pair["access"], current="not my password")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "invalid_password"
    assert me(api_client, pair["access"]).status_code == HTTPStatus.OK
    assert login(api_client, ADA).status_code == HTTPStatus.OK
    assert events(type=E.USER_PASSWORD_CHANGED) == []


@pytest.mark.django_db
@pytest.mark.parametrize("weak", ["short", "password123", "ada@example.com", "x" * 129])
def test_a_weak_new_password_is_400_on_new_password(api_client, user, org, weak):
    pair = signed_in(api_client)

    response = change(api_client, pair["access"], new=weak)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(response.json()) == ["new_password"]
    assert me(api_client, pair["access"]).status_code == HTTPStatus.OK
    assert login(api_client, ADA).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_a_change_answers_a_new_pair_and_ends_every_other_session(api_client, user, org):
    other_device = signed_in(api_client)
    pair = signed_in(api_client)

    response = change(api_client, pair["access"])

    assert response.status_code == HTTPStatus.OK
    new = response.json()
    assert claims(new["access"])["sid"] not in {
        claims(pair["access"])["sid"],
        claims(other_device["access"])["sid"],
    }
    assert me(api_client, pair["access"]).status_code == HTTPStatus.UNAUTHORIZED
    assert me(api_client, other_device["access"]).status_code == HTTPStatus.UNAUTHORIZED
    assert (
        post(api_client, f"{AUTH}/refresh/", {"refresh": pair["refresh"]}).status_code
        == HTTPStatus.UNAUTHORIZED
    )
    assert me(api_client, new["access"]).status_code == HTTPStatus.OK
    live = Session.objects.filter(user=user, revoked_at__isnull=True).values_list("id", flat=True)
    assert [str(sid) for sid in live] == [claims(new["access"])["sid"]]
    assert login(api_client, ADA, DEFAULT_PASSWORD).status_code == HTTPStatus.UNAUTHORIZED
    assert login(api_client, ADA, NEW_PASSWORD).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_the_new_pair_keeps_the_callers_org(api_client, user, org, other_org):
    add_member(org=other_org, user=user, role=MembershipRole.MEMBER)
    pair = signed_in(api_client, org=other_org.slug)
    assert pair["org"]["id"] == str(other_org.id)

    new = change(api_client, pair["access"]).json()

    assert new["org"]["id"] == str(other_org.id)
    assert claims(new["access"])["org_id"] == str(other_org.id)
    assert me(api_client, new["access"]).json()["org"]["id"] == str(other_org.id)
    assert claims(new["access"])["amr"] == ["pwd"]


@pytest.mark.django_db
def test_a_change_is_audited(api_client, user, org):
    pair = signed_in(api_client)

    new = change(api_client, pair["access"]).json()

    changed = only(E.USER_PASSWORD_CHANGED)
    assert (changed.subject_user_id, changed.details) == (user.id, {"usable": True})
    sign_in = only(E.SIGN_IN_SUCCEEDED, details__method="password_change")
    assert (sign_in.actor_user_id, sign_in.org_id) == (user.id, org.id)
    assert sign_in.subject_id == claims(new["access"])["sid"]
    assert_no_secret_stored(NEW_PASSWORD, DEFAULT_PASSWORD)


@pytest.mark.django_db
def test_a_user_without_a_usable_password_cannot_change_it(api_client, mailoutbox):
    make_user(email="google@example.com", password=None)
    token, _ = request_magic_link(api_client, mailoutbox, "google@example.com")
    access = post(api_client, MAGIC_VERIFY, {"token": token}).json()["access"]

    for current in ("!", "anything at all"):
        response = post(
            api_client,
            PASSWORD_CHANGE,
            {"current_password": current, "new_password": NEW_PASSWORD},
            **bearer(access),
        )
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert response.json()["code"] == "invalid_password"
    assert me(api_client, access).status_code == HTTPStatus.OK
