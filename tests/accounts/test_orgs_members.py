"""GET/POST /api/auth/orgs/ (the user's orgs) and GET /api/auth/org/members/ (the active org's members)."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from tenants.models import Membership, Organization
from tenants.policy import MembershipRole
from tenants.rls.context import cross_tenant
from tests.api import AUTH, bearer, login
from tests.factories import add_member, make_user

ORGS = f"{AUTH}/orgs/"
MEMBERS = f"{AUTH}/org/members/"
NOT_AUTHENTICATED = {"detail": "Authentication credentials were not provided.", "code": "not_authenticated"}


def membership(org, role: str) -> dict:
    return {"id": str(org.id), "name": org.name, "slug": org.slug, "role": role}


def member(membership: Membership) -> dict:
    user = membership.user
    return {
        "profile_id": str(membership.id),
        "user": {
            "id": str(user.id),
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email_verified": user.email_verified,
        },
        "role": membership.role,
        "joined_at": membership.joined_at.isoformat().replace("+00:00", "Z"),
    }


def membership_of(user, org) -> Membership:
    with cross_tenant():
        return Membership.objects.select_related("user").get(user=user, org=org)


def access_for(client, email: str) -> str:
    response = login(client, email)
    assert response.status_code == HTTPStatus.OK, response.json()
    return response.json()["access"]


@pytest.fixture
def ada_access(api_client, user, org) -> str:
    return access_for(api_client, "ada@example.com")


# --- orgs/ -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_orgs_lists_the_users_orgs_with_roles(api_client, user, org, other_org):
    add_member(org=other_org, user=user, role=MembershipRole.ADMIN)
    make_user(email="stranger@example.com")

    response = api_client.get(ORGS, **bearer(access_for(api_client, "ada@example.com")))

    assert response.status_code == HTTPStatus.OK
    assert response.json() == [membership(org, "owner"), membership(other_org, "admin")]


@pytest.mark.django_db
def test_orgs_leaves_out_orgs_the_user_is_not_in(api_client, user, org, other_org, ada_access):
    response = api_client.get(ORGS, **bearer(ada_access))

    assert response.json() == [membership(org, "owner")]


@pytest.mark.django_db
def test_orgs_without_credentials_is_unauthorized(api_client):
    response = api_client.get(ORGS)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == NOT_AUTHENTICATED


@pytest.mark.django_db
def test_create_org_makes_the_caller_its_owner(api_client, user, org, ada_access):
    response = api_client.post(ORGS, {"name": "Initech"}, format="json", **bearer(ada_access))

    assert response.status_code == HTTPStatus.CREATED
    created = Organization.objects.get(slug="initech")
    assert response.json() == {"id": str(created.id), "name": "Initech", "slug": "initech", "role": "owner"}
    membership = membership_of(user, created)
    assert (membership.role, membership.is_active) == (MembershipRole.OWNER, True)


@pytest.mark.django_db
def test_created_org_appears_in_the_users_orgs(api_client, user, org, ada_access):
    api_client.post(ORGS, {"name": "Initech"}, format="json", **bearer(ada_access))

    response = api_client.get(ORGS, **bearer(ada_access))

    created = Organization.objects.get(slug="initech")
    assert response.json() == [membership(org, "owner"), membership(created, "owner")]


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["Globex", "GLOBEX", "  globex  "])
def test_create_org_with_a_taken_slug_is_a_conflict(api_client, user, org, other_org, ada_access, name):
    response = api_client.post(ORGS, {"name": name}, format="json", **bearer(ada_access))

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json() == {
        "detail": "An organization with this name already exists.",
        "code": "org_slug_taken",
    }
    assert Organization.objects.filter(slug="globex").count() == 1
    with cross_tenant():
        assert not Membership.objects.filter(user=user, org=other_org).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "errors"),
    [
        pytest.param({"name": ""}, {"name": ["This field may not be blank."]}, id="empty-name"),
        pytest.param({"name": "   "}, {"name": ["This field may not be blank."]}, id="blank-name"),
        pytest.param({}, {"name": ["This field is required."]}, id="no-name"),
        pytest.param(
            {"name": "x" * 201},
            {"name": ["Ensure this field has no more than 200 characters."]},
            id="long-name",
        ),
        pytest.param({"name": "In\x00itech"}, {"name": ["Null characters are not allowed."]}, id="null-byte"),
    ],
)
def test_create_org_rejects_an_invalid_name(api_client, user, org, ada_access, body, errors):
    response = api_client.post(ORGS, body, format="json", **bearer(ada_access))

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == errors
    assert list(Organization.objects.values_list("slug", flat=True)) == ["acme"]


@pytest.mark.django_db
def test_create_org_with_a_name_without_letters_or_digits_is_refused(api_client, user, org, ada_access):
    response = api_client.post(ORGS, {"name": "!!!"}, format="json", **bearer(ada_access))

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {
        "detail": "The organization name must contain letters or digits.",
        "code": "invalid_name",
    }


@pytest.mark.django_db
def test_create_org_without_credentials_is_unauthorized(api_client):
    response = api_client.post(ORGS, {"name": "Initech"}, format="json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert not Organization.objects.exists()


# --- org/members/ ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_members_lists_the_active_orgs_members(api_client, user, org):
    bob = make_user(email="bob@example.com", first_name="Bob", last_name="Byte")
    bob_membership = add_member(org=org, user=bob, role=MembershipRole.ADMIN)
    access = access_for(api_client, "ada@example.com")

    response = api_client.get(MEMBERS, **bearer(access))

    assert response.status_code == HTTPStatus.OK
    assert response.json() == [member(membership_of(user, org)), member(membership_of(bob, org))]
    assert response.json()[1]["profile_id"] == str(bob_membership.id)


@pytest.mark.django_db
def test_members_never_lists_another_orgs_members(api_client, user, org, other_org):
    carol = make_user(email="carol@globex.test")
    add_member(org=other_org, user=carol)
    access = access_for(api_client, "ada@example.com")

    response = api_client.get(MEMBERS, **bearer(access))

    emails = [entry["user"]["email"] for entry in response.json()]
    assert emails == ["ada@example.com"]


@pytest.mark.django_db
def test_members_of_a_user_in_two_orgs_follow_the_chosen_org(api_client, user, org, other_org):
    add_member(org=other_org, user=user)
    add_member(org=org, user=make_user(email="bob@example.com"))
    access = login(api_client, "ada@example.com", org=other_org.slug).json()["access"]

    response = api_client.get(MEMBERS, **bearer(access))

    emails = [entry["user"]["email"] for entry in response.json()]
    assert emails == ["hank@globex.test", "ada@example.com"]


@pytest.mark.django_db
def test_members_leaves_out_inactive_memberships(api_client, user, org):
    gone = add_member(org=org, user=make_user(email="gone@example.com"))
    with cross_tenant():
        Membership.objects.filter(pk=gone.pk).update(is_active=False)
    access = access_for(api_client, "ada@example.com")

    response = api_client.get(MEMBERS, **bearer(access))

    assert [entry["user"]["email"] for entry in response.json()] == ["ada@example.com"]


@pytest.mark.django_db
def test_members_with_a_token_without_an_org_is_forbidden(api_client, user, org, other_org):
    add_member(org=other_org, user=user)
    access = access_for(api_client, "ada@example.com")

    response = api_client.get(MEMBERS, **bearer(access))

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == {
        "detail": "Choose an organization first (switch-org/).",
        "code": "no_active_org",
    }


@pytest.mark.django_db
def test_members_without_credentials_is_unauthorized(api_client):
    response = api_client.get(MEMBERS)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == NOT_AUTHENTICATED
