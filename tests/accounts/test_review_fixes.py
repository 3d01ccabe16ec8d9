"""Hostile inputs and admin paths found in review: each once a 500 or a gap, now a clean answer."""

from __future__ import annotations

import ipaddress
from http import HTTPStatus

import pytest

from accounts.models import Session, User
from accounts.throttles import rate_limit_key
from tenants.models import Membership
from tenants.rls.context import tenant_context
from tests.api import AUTH, bearer, login
from tests.factories import DEFAULT_PASSWORD


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/login/", "/register/"])
def test_lone_surrogate_in_email_is_a_400_not_a_500(api_client, path):
    body = '{"email": "\\ud800@example.com", "password": "xxxxxxxxxxxx", "organization_name": "X"}'
    response = api_client.generic("POST", f"{AUTH}{path}", body, content_type="application/json")
    assert response.status_code == HTTPStatus.BAD_REQUEST


@pytest.mark.django_db
def test_lone_surrogate_in_oauth_username_is_not_a_500(api_client):
    response = api_client.post(
        f"{AUTH}/token/",
        "grant_type=password&username=%ED%A0%80&password=x",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST


@pytest.mark.django_db
@pytest.mark.parametrize("charset", ["rot13", "base64", "zlib", "no-such-codec"])
def test_a_non_text_charset_is_ignored_json_is_utf8(api_client, user, org, charset):
    body = f'{{"email": "ada@example.com", "password": "{DEFAULT_PASSWORD}"}}'
    response = api_client.generic(
        "POST", f"{AUTH}/login/", body.encode(), content_type=f"application/json; charset={charset}"
    )
    assert response.status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_signup_disabled_wins_over_a_malformed_body(api_client, settings):
    settings.AUTH_ALLOW_SIGNUP = False
    response = api_client.post(f"{AUTH}/register/", {"email": "nope"}, format="json")
    assert (response.status_code, response.json()) == (
        HTTPStatus.FORBIDDEN,
        {"detail": "Sign-up is disabled.", "code": "signup_disabled"},
    )


def test_ipv6_clients_share_a_bucket_per_64():
    assert rate_limit_key("2001:db8:1:2:aaaa::1") == rate_limit_key("2001:db8:1:2:ffff::9")
    assert rate_limit_key("2001:db8:1:3::1") != rate_limit_key("2001:db8:1:2::1")
    assert rate_limit_key("203.0.113.7") == "203.0.113.7"
    assert ipaddress.ip_network(rate_limit_key("2001:db8::1")).prefixlen == 64


@pytest.mark.django_db
def test_admin_login_is_throttled_before_60_attempts(client, db):
    User.objects.create_superuser(email="root@example.com", password=DEFAULT_PASSWORD)
    statuses = [
        client.post("/admin/login/", {"username": "root@example.com", "password": f"wrong-{i}"}).status_code
        for i in range(60)
    ]
    assert HTTPStatus.TOO_MANY_REQUESTS in statuses
    first_refusal = statuses.index(HTTPStatus.TOO_MANY_REQUESTS)
    assert all(status == HTTPStatus.OK for status in statuses[:first_refusal])  # the form, re-shown


@pytest.mark.django_db
def test_admin_password_change_ends_the_users_sessions(client, api_client, user, org):
    pair = login(api_client, "ada@example.com").json()
    staff = User.objects.create_superuser(email="root@example.com", password=DEFAULT_PASSWORD)
    client.force_login(staff)

    response = client.post(
        f"/admin/accounts/user/{user.pk}/password/",
        {
            "password1": "a brand new long passphrase",
            "password2": "a brand new long passphrase",
            "usable_password": "true",
        },
    )

    assert response.status_code == HTTPStatus.FOUND
    assert api_client.get(f"{AUTH}/me/", **bearer(pair["access"])).status_code == HTTPStatus.UNAUTHORIZED
    assert Session.objects.get(user=user).revoked_reason == "password_changed"


@pytest.mark.django_db
def test_devlogin_reactivates_an_ended_membership(user, org, settings):
    import io
    import json

    from django.core.management import call_command

    settings.DEBUG = True
    with tenant_context(org.id):
        Membership.objects.filter(user=user).update(is_active=False)
    out = io.StringIO()

    call_command("devlogin", "ada@example.com", "--org", "Acme", stdout=out)

    assert json.loads(out.getvalue())["org"]["slug"] == "acme"
    with tenant_context(org.id):
        assert Membership.objects.get(user=user).is_active
