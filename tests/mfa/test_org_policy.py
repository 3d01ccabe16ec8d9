"""An org that requires MFA: only an owner with MFA on turns it on (PATCH org/ ``require_mfa``); members
without MFA then get 403 ``mfa_enrolment_required`` on the org's endpoints, ``me/`` still answers, and
API keys are unaffected (API.md "Multi-factor authentication" and the ``PATCH org/`` row)."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from tenants.audit import AuditEventType as E
from tenants.models import Organization
from tenants.policy import MembershipRole
from tests.api import AUTH, bearer
from tests.apikeys.helpers import new_key, with_key
from tests.audit.helpers import events, only
from tests.factories import add_member, make_user
from tests.mfa.helpers import ME, MEMBERS, ORG, assert_error, enrol, signed_in

MFA_ENROLMENT_REQUIRED = {
    "detail": "This organization requires multi-factor authentication: turn it on for your account first.",
    "code": "mfa_enrolment_required",
}


def require_mfa(client, access: str, value: bool = True):
    return client.patch(ORG, {"require_mfa": value}, format="json", **bearer(access))


def stored_policy(org) -> bool:
    return Organization.objects.get(pk=org.pk).require_mfa


@pytest.fixture
def bob_access(api_client, org) -> str:
    """Bob, a member of Acme without MFA."""
    add_member(org=org, user=make_user(email="bob@example.com"), role=MembershipRole.MEMBER)
    return signed_in(api_client, "bob@example.com")["access"]


@pytest.fixture
def required(api_client, org, ada_mfa) -> None:
    """Acme requires MFA (turned on by Ada, its owner, who has MFA on)."""
    assert require_mfa(api_client, ada_mfa.access).status_code == HTTPStatus.OK


# --- Turning it on and off ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_owner_without_mfa_cannot_require_it(api_client, user, org):
    response = require_mfa(api_client, signed_in(api_client)["access"])

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == {
        "detail": "Turn on multi-factor authentication for your own account first.",
        "code": "mfa_enrolment_required",
    }
    assert stored_policy(org) is False


@pytest.mark.django_db
def test_an_admin_cannot_require_mfa_even_with_mfa_on(api_client, org):
    add_member(org=org, user=make_user(email="grace@example.com"), role=MembershipRole.ADMIN)
    grace = enrol(api_client, signed_in(api_client, "grace@example.com")["access"])

    response = require_mfa(api_client, grace.access)

    assert_error(response, HTTPStatus.FORBIDDEN, "insufficient_role")
    assert stored_policy(org) is False


@pytest.mark.django_db
def test_an_owner_with_mfa_requires_it(api_client, user, org, ada_mfa):
    response = require_mfa(api_client, ada_mfa.access)

    assert response.status_code == HTTPStatus.OK, response.content
    assert response.json() == {"id": str(org.id), "name": "Acme", "slug": "acme", "role": "owner"}
    assert stored_policy(org) is True


@pytest.mark.django_db
def test_requiring_mfa_is_recorded_with_the_owner_as_actor(api_client, user, org, ada_mfa):
    require_mfa(api_client, ada_mfa.access)

    event = only(E.ORG_MFA_POLICY_CHANGED)
    assert event.details == {"require_mfa": True}
    assert (event.org_id, event.actor_user_id, event.subject_id) == (org.id, user.id, str(org.id))


@pytest.mark.django_db
def test_a_refused_policy_change_leaves_a_rename_in_the_same_request_undone(api_client, user, org):
    access = signed_in(api_client)["access"]

    response = api_client.patch(
        ORG, {"name": "Acme Two", "require_mfa": True}, format="json", **bearer(access)
    )

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert Organization.objects.get(pk=org.pk).name == "Acme"


@pytest.mark.django_db
def test_setting_the_policy_it_already_has_records_nothing(api_client, org, ada_mfa):
    response = require_mfa(api_client, ada_mfa.access, False)

    assert response.status_code == HTTPStatus.OK
    assert events(type=E.ORG_MFA_POLICY_CHANGED) == []


# --- Enforcement ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_member_without_mfa_is_refused_on_the_orgs_endpoints(api_client, required, bob_access):
    response = api_client.get(MEMBERS, **bearer(bob_access))

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == MFA_ENROLMENT_REQUIRED


@pytest.mark.django_db
def test_a_member_without_mfa_still_reads_me(api_client, required, bob_access):
    response = api_client.get(ME, **bearer(bob_access))

    assert response.status_code == HTTPStatus.OK
    assert (response.json()["email"], response.json()["mfa_enabled"]) == ("bob@example.com", False)


@pytest.mark.django_db
def test_the_owner_with_mfa_keeps_access(api_client, required, ada_mfa):
    response = api_client.get(MEMBERS, **bearer(ada_mfa.access))

    assert response.status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_a_member_who_enrols_gets_in(api_client, required, bob_access):
    enrol(api_client, bob_access)

    response = api_client.get(MEMBERS, **bearer(bob_access))

    assert response.status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_an_api_key_is_unaffected_by_the_policy(api_client, org, ada_mfa):
    key = new_key(api_client, ada_mfa.access)
    require_mfa(api_client, ada_mfa.access)

    response = api_client.get(MEMBERS, **with_key(key["key"]))

    assert response.status_code == HTTPStatus.OK, response.content


@pytest.mark.django_db
def test_turning_the_policy_off_restores_access(api_client, org, required, ada_mfa, bob_access):
    response = require_mfa(api_client, ada_mfa.access, False)

    assert response.status_code == HTTPStatus.OK
    assert api_client.get(MEMBERS, **bearer(bob_access)).status_code == HTTPStatus.OK
    assert [event.details for event in events(type=E.ORG_MFA_POLICY_CHANGED)] == [
        {"require_mfa": True},
        {"require_mfa": False},
    ]


@pytest.mark.django_db
def test_the_policy_of_one_org_does_not_reach_another(api_client, user, org, other_org, required):
    hank = signed_in(api_client, "hank@globex.test")["access"]

    response = api_client.get(MEMBERS, **bearer(hank))

    assert response.status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_a_member_without_mfa_may_still_leave_the_org(api_client, required, bob_access):
    """The policy keeps people out of the org's data, not in the org."""
    response = api_client.post(f"{AUTH}/org/leave/", **bearer(bob_access))

    assert response.status_code == HTTPStatus.NO_CONTENT
