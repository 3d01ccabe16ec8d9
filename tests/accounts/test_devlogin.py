"""``manage.py devlogin <email> --org <name>``: a token pair for local development, DEBUG only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from http import HTTPStatus
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Session, User
from tenants.models import Membership, Organization
from tenants.policy import MembershipRole
from tenants.rls.context import cross_tenant
from tests.api import AUTH, bearer, claims

REPO_ROOT = Path(__file__).resolve().parents[2]


def devlogin(email: str = "dev@example.com", org: str = "Dev Org") -> dict:
    out = StringIO()
    call_command("devlogin", email, "--org", org, stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def debug_on(settings):
    settings.DEBUG = True


@pytest.mark.django_db
def test_devlogin_prints_the_token_pair_for_a_new_user_and_org(debug_on):
    out = StringIO()

    call_command("devlogin", "dev@example.com", "--org", "Dev Org", stdout=out)

    assert len(out.getvalue().strip().splitlines()) == 1
    body = json.loads(out.getvalue())
    user = User.objects.get(email="dev@example.com")
    org = Organization.objects.get(slug="dev-org")
    membership = {"id": str(org.id), "name": "Dev Org", "slug": "dev-org", "role": "owner"}
    assert body == {
        "access": body["access"],
        "refresh": body["refresh"],
        "expires_in": 900,
        "user": {
            "id": str(user.id),
            "email": "dev@example.com",
            "first_name": "",
            "last_name": "",
            "email_verified": False,
        },
        "organizations": [membership],
        "org": membership,
    }
    assert claims(body["access"])["org_id"] == str(org.id)


@pytest.mark.django_db
def test_devlogin_creates_the_owner_membership(debug_on):
    devlogin()

    user = User.objects.get(email="dev@example.com")
    with cross_tenant():
        memberships = list(Membership.objects.filter(user=user).values_list("org__slug", "role"))
    assert memberships == [("dev-org", MembershipRole.OWNER)]
    assert not user.has_usable_password()


@pytest.mark.django_db
def test_devlogin_access_token_works_as_bearer(debug_on, api_client):
    body = devlogin()

    response = api_client.get(f"{AUTH}/me/", **bearer(body["access"]))

    assert response.status_code == HTTPStatus.OK
    assert response.json()["email"] == "dev@example.com"
    assert response.json()["org"] == body["org"]
    assert response.json()["role"] == "owner"


@pytest.mark.django_db
def test_devlogin_twice_reuses_the_user_and_the_org(debug_on):
    first = devlogin()
    second = devlogin()

    assert second["user"] == first["user"]
    assert second["org"] == first["org"]
    assert User.objects.filter(email="dev@example.com").count() == 1
    assert Organization.objects.filter(slug="dev-org").count() == 1
    assert claims(second["access"])["sid"] != claims(first["access"])["sid"]


@pytest.mark.django_db
def test_devlogin_normalizes_the_email(debug_on):
    body = devlogin(email="  Dev@Example.COM ")

    assert body["user"]["email"] == "dev@example.com"


@pytest.mark.django_db
def test_devlogin_refuses_a_malformed_email(debug_on):
    with pytest.raises(CommandError, match="valid email"):
        devlogin(email="not-an-email")

    assert not User.objects.exists()


@pytest.mark.django_db
def test_devlogin_refuses_with_debug_off_and_issues_nothing(settings):
    settings.DEBUG = False
    out = StringIO()

    with pytest.raises(CommandError, match="DEBUG"):
        call_command("devlogin", "dev@example.com", "--org", "Dev Org", stdout=out)

    assert out.getvalue() == ""
    assert not User.objects.exists()
    assert not Organization.objects.exists()
    assert not Session.objects.exists()


def test_devlogin_process_exits_non_zero_with_debug_off():
    env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "s" * 40,
        "JWT_SIGNING_KEY": "j" * 40,
        # DEBUG off refuses the embedded database; the command refuses before connecting anyway.
        "DATABASE_URL": os.environ.get("DATABASE_URL") or "postgres://unused@127.0.0.1:9/unused",
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "devlogin", "x@example.com", "--org", "X"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode != 0
    assert result.stdout == ""
    assert "DEBUG" in result.stderr
    assert "devlogin only runs with DEBUG on" in result.stderr  # the refusal, not a settings error
    assert "Traceback" not in result.stderr
