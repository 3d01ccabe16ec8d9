"""Fixes from the independent review of MFA: the admin's own login owes the second factor, digits of other
scripts are refused (not a 500), and turning an org's MFA policy off needs a recent sign-in."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.test import Client

from accounts.models import User
from tests.api import AUTH, bearer
from tests.mfa.helpers import enrolled, mfa_token_for, sign_in_long_ago

ADMIN_LOGIN = "/admin/login/?next=/admin/"
STAFF_PASSWORD = "staff passphrase 4127"


@pytest.fixture
def staff_mfa(api_client, db):
    """A superuser who turned MFA on (through the API, as anyone does)."""
    User.objects.create_superuser(email="root@example.com", password=STAFF_PASSWORD, email_verified=True)
    return enrolled(api_client, "root@example.com", password=STAFF_PASSWORD)


def admin_login(**fields):
    client = Client()
    response = client.post(
        ADMIN_LOGIN, {"username": "root@example.com", "password": STAFF_PASSWORD, **fields}
    )
    return client, response


@pytest.mark.django_db
def test_the_admin_login_of_a_staff_account_with_mfa_needs_the_code(staff_mfa):
    client, response = admin_login()

    assert response.status_code == HTTPStatus.OK  # the form again, with the error
    assert "authenticator" in response.content.decode()
    assert client.get("/admin/").status_code == HTTPStatus.FOUND  # still signed out: to the login page


@pytest.mark.django_db
def test_the_admin_login_with_a_wrong_code_is_refused(staff_mfa):
    _, response = admin_login(code=staff_mfa.authenticator.wrong_code())

    assert response.status_code == HTTPStatus.OK


@pytest.mark.django_db
@pytest.mark.parametrize("proof", ["totp", "recovery_code"])
def test_the_admin_login_with_the_code_or_a_recovery_code_signs_in(staff_mfa, proof):
    code = staff_mfa.authenticator.code() if proof == "totp" else staff_mfa.recovery_codes[0]

    client, response = admin_login(code=code)

    assert response.status_code == HTTPStatus.FOUND
    assert client.get("/admin/").status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_the_admin_login_page_shows_the_code_field():
    response = Client().get(ADMIN_LOGIN)

    assert response.status_code == HTTPStatus.OK
    assert 'name="code"' in response.content.decode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "code",
    ["\u0661\u0662\u0663\u0664\u0665\u0666", "\uff11\uff12\uff13\uff14\uff15\uff16"],
    ids=["arabic_indic", "fullwidth"],
)
def test_digits_of_other_scripts_are_a_wrong_code_not_a_server_error(api_client, user, org, ada_mfa, code):
    token = mfa_token_for(api_client)

    verify = api_client.post(f"{AUTH}/mfa/verify/", {"mfa_token": token, "code": code}, format="json")
    reauth = api_client.post(
        f"{AUTH}/reauthenticate/", {"code": code}, format="json", **bearer(ada_mfa.access)
    )
    disable = api_client.delete(f"{AUTH}/mfa/totp/", {"code": code}, format="json", **bearer(ada_mfa.access))

    assert [verify.status_code, reauth.status_code, disable.status_code] == [HTTPStatus.BAD_REQUEST] * 3
    assert verify.json()["code"] == "invalid_code"


@pytest.mark.django_db
def test_turning_the_org_policy_off_needs_a_recent_sign_in(api_client, user, org, ada_mfa):
    assert (
        api_client.patch(
            f"{AUTH}/org/", {"require_mfa": True}, format="json", **bearer(ada_mfa.access)
        ).status_code
        == HTTPStatus.OK
    )
    sign_in_long_ago(ada_mfa.access)

    response = api_client.patch(
        f"{AUTH}/org/", {"require_mfa": False}, format="json", **bearer(ada_mfa.access)
    )

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "reauthentication_required"
    org.refresh_from_db()
    assert org.require_mfa is True
