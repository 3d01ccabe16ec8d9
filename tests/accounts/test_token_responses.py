"""What every token-bearing response carries: no caching, and the claims API.md lists (iss, aud, amr)."""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from io import StringIO
from urllib.parse import urlencode

import pytest
from django.core.management import call_command

from tests.api import AUTH, bearer, claims, login
from tests.factories import add_member
from tests.processes import manage

NO_STORE = ("no-store", "no-cache")


def cache_headers(response) -> tuple[str, str]:
    return response.get("Cache-Control", ""), response.get("Pragma", "")


@pytest.fixture
def pair(api_client, user, org) -> dict:
    return login(api_client, "ada@example.com").json()


@pytest.mark.django_db
def test_register_response_is_not_cacheable(api_client):
    response = api_client.post(
        f"{AUTH}/register/",
        {"email": "new@example.com", "password": "violet tangerine 42", "organization_name": "New Org"},
        format="json",
    )

    assert response.status_code == HTTPStatus.CREATED
    assert cache_headers(response) == NO_STORE


@pytest.mark.django_db
def test_login_response_is_not_cacheable(api_client, user, org):
    response = login(api_client, "ada@example.com")

    assert response.status_code == HTTPStatus.OK
    assert cache_headers(response) == NO_STORE


@pytest.mark.django_db
def test_oauth_token_response_is_not_cacheable(api_client, user, org):
    response = api_client.post(
        f"{AUTH}/token/",
        urlencode(
            {
                "grant_type": "password",
                "username": "ada@example.com",
                "password": "correct horse battery staple",
            }
        ),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == HTTPStatus.OK
    assert cache_headers(response) == NO_STORE


@pytest.mark.django_db
def test_refresh_response_is_not_cacheable(api_client, pair):
    response = api_client.post(f"{AUTH}/refresh/", {"refresh": pair["refresh"]}, format="json")

    assert response.status_code == HTTPStatus.OK
    assert cache_headers(response) == NO_STORE


@pytest.mark.django_db
def test_switch_org_response_is_not_cacheable(api_client, user, org, other_org, pair):
    add_member(org=other_org, user=user)

    response = api_client.post(
        f"{AUTH}/switch-org/", {"org_id": str(other_org.id)}, format="json", **bearer(pair["access"])
    )

    assert response.status_code == HTTPStatus.OK
    assert cache_headers(response) == NO_STORE


# --- Claims ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_password_sign_in_access_token_says_pwd(pair):
    access = claims(pair["access"])

    assert access["amr"] == ["pwd"]
    assert (access["iss"], access["aud"]) == ("authsvc", "authsvc")


@pytest.mark.django_db
def test_refresh_and_switch_org_keep_how_the_session_signed_in(api_client, user, org, other_org, pair):
    add_member(org=other_org, user=user)
    rotated = api_client.post(f"{AUTH}/refresh/", {"refresh": pair["refresh"]}, format="json").json()
    switched = api_client.post(
        f"{AUTH}/switch-org/", {"org_id": str(other_org.id)}, format="json", **bearer(rotated["access"])
    ).json()

    assert claims(rotated["access"])["amr"] == ["pwd"]
    assert claims(switched["access"])["amr"] == ["pwd"]


@pytest.mark.django_db
def test_devlogin_proves_nothing_so_its_amr_is_empty(settings):
    settings.DEBUG = True
    out = StringIO()

    call_command("devlogin", "dev@example.com", "--org", "Dev Org", stdout=out)

    assert claims(json.loads(out.getvalue())["access"])["amr"] == []


def test_issuer_and_audience_come_from_the_environment():
    probe = "from rest_framework_simplejwt.state import token_backend as b; print(b.issuer, b.audience)"

    result = manage("shell", "-c", probe, JWT_ISSUER="https://auth.example.com", JWT_AUDIENCE="api")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "https://auth.example.com api"


@pytest.mark.django_db
def test_pair_and_me_say_whether_the_email_is_verified(api_client, user, org, pair):
    me = api_client.get(f"{AUTH}/me/", **bearer(pair["access"])).json()

    assert pair["user"]["email_verified"] is False
    assert me["email_verified"] is False


# --- The grace window is logged -------------------------------------------------------------------


@pytest.mark.django_db
def test_each_grace_hit_is_logged_with_user_session_ip_and_user_agent(api_client, user, pair, caplog):
    def spend():
        return api_client.post(
            f"{AUTH}/refresh/",
            {"refresh": pair["refresh"]},
            format="json",
            REMOTE_ADDR="198.51.100.23",
            HTTP_USER_AGENT="Tab/2",
        )

    first = spend()
    with caplog.at_level(logging.INFO, logger="accounts.services.sessions"):
        second = spend()

    assert second.json() == first.json()
    (record,) = [r for r in caplog.records if "grace" in r.getMessage()]
    message = record.getMessage()
    session_id = claims(pair["refresh"])["sid"]
    assert all(part in message for part in (session_id, str(user.id), "198.51.100.23", "Tab/2"))
