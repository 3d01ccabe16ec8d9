"""Organizations as teams: members (list, role changes, removal, leaving) and the org itself (rename,
delete), with the owner rules, the sessions that end with a membership, isolation and audit events."""

from __future__ import annotations

import uuid
from http import HTTPStatus

import pytest

from accounts.models import Session
from invitations.models import Invitation
from tenants.audit import AuditEventType as E
from tenants.models import Membership, Organization
from tenants.policy import MembershipRole
from tenants.rls.context import cross_tenant, tenant_context
from tenants.services import MemberNotFound, member_get
from tests.api import AUTH, bearer, login
from tests.audit.helpers import events, only
from tests.factories import add_member, make_user

ORG = f"{AUTH}/org/"
LEAVE = f"{AUTH}/org/leave/"
MEMBERS = f"{AUTH}/org/members/"
ME = f"{AUTH}/me/"
ADA = "ada@example.com"
SESSION_ENDED = {"detail": "The session of this token has ended.", "code": "token_not_valid"}
INSUFFICIENT_ROLE = "insufficient_role"


def member_url(profile_id) -> str:
    return f"{MEMBERS}{profile_id}/"


def access_for(client, email: str, org: Organization | None = None) -> str:
    extra = {"org": org.slug} if org is not None else {}
    response = login(client, email, **extra)
    assert response.status_code == HTTPStatus.OK, response.json()
    return response.json()["access"]


def membership_of(user, org) -> Membership:
    with cross_tenant():
        return Membership.objects.select_related("user").get(user=user, org=org)


def patch(client, url: str, body: dict, access: str):
    return client.patch(url, body, format="json", **bearer(access))


def delete(client, url: str, access: str, body: dict | None = None):
    return client.delete(url, body, format="json", **bearer(access))


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["code"] == code


def assert_session_ended(client, access: str) -> None:
    for url in (MEMBERS, ME):
        response = client.get(url, **bearer(access))
        assert response.status_code == HTTPStatus.UNAUTHORIZED, (url, response.content)
        assert response.json() == SESSION_ENDED


@pytest.fixture
def bob(db):
    return make_user(email="bob@example.com", first_name="Bob", last_name="Byte")


@pytest.fixture
def bob_member(org, bob) -> Membership:
    return add_member(org=org, user=bob, role=MembershipRole.MEMBER)


@pytest.fixture
def grace_admin(org) -> Membership:
    return add_member(org=org, user=make_user(email="grace@example.com"), role=MembershipRole.ADMIN)


@pytest.fixture
def ada_access(api_client, user, org) -> str:
    return access_for(api_client, ADA)


@pytest.fixture
def grace_access(api_client, grace_admin) -> str:
    return access_for(api_client, "grace@example.com")


@pytest.fixture
def bob_access(api_client, bob_member) -> str:
    return access_for(api_client, "bob@example.com")


# --- Listing: pages and search -------------------------------------------------------------------------


@pytest.fixture
def five_members(org, user):
    """Ada (owner, joined first) and four more, oldest first."""
    names = [("Bob", "Byte"), ("Carol", "Crane"), ("Dan", "Dory"), ("Erin", "Eckert")]
    for first, last in names:
        add_member(
            org=org, user=make_user(email=f"{first.lower()}@example.com", first_name=first, last_name=last)
        )
    return [ADA] + [f"{first.lower()}@example.com" for first, _ in names]


def emails_of(response) -> list[str]:
    return [entry["user"]["email"] for entry in response.json()]


@pytest.mark.django_db
def test_members_are_paginated_with_a_total_and_a_next_link(api_client, five_members, ada_access):
    first = api_client.get(MEMBERS, {"limit": 2}, **bearer(ada_access))

    assert first.status_code == HTTPStatus.OK
    assert emails_of(first) == five_members[:2]
    assert first["X-Total-Count"] == "5"
    assert first["Link"] == f'<http://testserver{MEMBERS}?limit=2&offset=2>; rel="next"'

    second = api_client.get(MEMBERS, {"limit": 2, "offset": 2}, **bearer(ada_access))
    assert emails_of(second) == five_members[2:4]
    assert second["Link"] == f'<http://testserver{MEMBERS}?limit=2&offset=4>; rel="next"'

    last = api_client.get(MEMBERS, {"limit": 2, "offset": 4}, **bearer(ada_access))
    assert emails_of(last) == five_members[4:]
    assert last["X-Total-Count"] == "5"
    assert "Link" not in last

    beyond = api_client.get(MEMBERS, {"offset": 10}, **bearer(ada_access))
    assert beyond.json() == []
    assert beyond["X-Total-Count"] == "5"


@pytest.mark.django_db
def test_members_default_page_has_everyone_and_no_next_link(api_client, five_members, ada_access):
    response = api_client.get(MEMBERS, **bearer(ada_access))

    assert emails_of(response) == five_members
    assert response["X-Total-Count"] == "5"
    assert "Link" not in response


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("search", "expected"),
    [
        pytest.param("CAROL@", ["carol@example.com"], id="email-case-insensitive"),
        pytest.param("example.com", None, id="email-domain-matches-all"),
        pytest.param("dory", ["dan@example.com"], id="last-name"),
        pytest.param("eri", ["erin@example.com"], id="part-of-first-name"),
        pytest.param("nobody", [], id="no-match"),
    ],
)
def test_members_search_by_email_or_name(api_client, five_members, ada_access, search, expected):
    response = api_client.get(MEMBERS, {"search": search}, **bearer(ada_access))

    assert response.status_code == HTTPStatus.OK
    expected = five_members if expected is None else expected
    assert emails_of(response) == expected
    assert response["X-Total-Count"] == str(len(expected))


@pytest.mark.django_db
def test_the_next_link_keeps_the_search(api_client, five_members, ada_access):
    response = api_client.get(MEMBERS, {"search": "r", "limit": 1}, **bearer(ada_access))

    # "r": Carol (and Crane), Dan Dory, Erin; nobody else's address or name.
    assert response["X-Total-Count"] == "3"
    assert response["Link"] == f'<http://testserver{MEMBERS}?search=r&limit=1&offset=1>; rel="next"'


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": ""}, "limit"),
        ({"offset": -1}, "offset"),
        ({"search": ""}, "search"),
    ],
)
def test_a_bad_page_is_a_400(api_client, ada_access, query, field):
    response = api_client.get(MEMBERS, query, **bearer(ada_access))

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(response.json()) == [field]


@pytest.mark.django_db
def test_a_plain_member_may_list_members(api_client, org, bob_member, bob_access):
    response = api_client.get(MEMBERS, **bearer(bob_access))

    assert emails_of(response) == [ADA, "bob@example.com"]


# --- Role changes ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_owner_changes_a_members_role(api_client, user, org, bob, bob_member, ada_access):
    response = patch(api_client, member_url(bob_member.id), {"role": "admin"}, ada_access)

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert (body["profile_id"], body["role"], body["user"]["email"]) == (
        str(bob_member.id),
        "admin",
        bob.email,
    )
    assert membership_of(bob, org).role == MembershipRole.ADMIN
    event = only(E.MEMBERSHIP_ROLE_CHANGED)
    assert (event.org_id, event.actor_user_id, event.subject_user_id) == (org.id, user.id, bob.id)
    assert event.details == {"from": "member", "to": "admin"}


@pytest.mark.django_db
def test_an_admin_promotes_and_demotes_members_and_admins(api_client, org, bob, bob_member, grace_access):
    assert patch(api_client, member_url(bob_member.id), {"role": "admin"}, grace_access).status_code == 200
    assert membership_of(bob, org).role == MembershipRole.ADMIN

    assert patch(api_client, member_url(bob_member.id), {"role": "member"}, grace_access).status_code == 200
    assert membership_of(bob, org).role == MembershipRole.MEMBER
    assert [e.details["to"] for e in events(type=E.MEMBERSHIP_ROLE_CHANGED)] == ["admin", "member"]


@pytest.mark.django_db
def test_setting_the_same_role_changes_nothing(api_client, bob_member, ada_access):
    response = patch(api_client, member_url(bob_member.id), {"role": "member"}, ada_access)

    assert response.status_code == HTTPStatus.OK
    assert events(type=E.MEMBERSHIP_ROLE_CHANGED) == []


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{"role": "superuser"}, {"role": ""}, {}])
def test_an_unknown_role_is_a_400(api_client, bob_member, ada_access, body):
    response = patch(api_client, member_url(bob_member.id), body, ada_access)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(response.json()) == ["role"]


@pytest.mark.django_db
def test_an_admin_cannot_touch_an_owner(api_client, user, org, grace_access):
    ada = membership_of(user, org)

    for role in ("admin", "member"):
        assert_error(
            patch(api_client, member_url(ada.id), {"role": role}, grace_access), 403, INSUFFICIENT_ROLE
        )
    assert_error(delete(api_client, member_url(ada.id), grace_access), 403, INSUFFICIENT_ROLE)
    ada = membership_of(user, org)
    assert (ada.role, ada.is_active) == (MembershipRole.OWNER, True)


@pytest.mark.django_db
def test_an_admin_cannot_promote_to_owner(api_client, org, bob, bob_member, grace_admin, grace_access):
    for target in (bob_member, grace_admin):
        response = patch(api_client, member_url(target.id), {"role": "owner"}, grace_access)
        assert_error(response, 403, INSUFFICIENT_ROLE)
    assert membership_of(bob, org).role == MembershipRole.MEMBER
    assert membership_of(grace_admin.user, org).role == MembershipRole.ADMIN
    assert events(type=E.MEMBERSHIP_ROLE_CHANGED) == []


@pytest.mark.django_db
def test_a_member_cannot_change_roles_or_remove(api_client, org, grace_admin, bob_member, bob_access):
    for target in (grace_admin, bob_member):
        assert_error(
            patch(api_client, member_url(target.id), {"role": "admin"}, bob_access), 403, INSUFFICIENT_ROLE
        )
        assert_error(delete(api_client, member_url(target.id), bob_access), 403, INSUFFICIENT_ROLE)
    assert membership_of(grace_admin.user, org).role == MembershipRole.ADMIN
    assert membership_of(bob_member.user, org).is_active


# --- The last owner -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_last_owner_cannot_be_demoted_removed_or_leave(api_client, user, org, bob_member, ada_access):
    ada = membership_of(user, org)

    assert_error(patch(api_client, member_url(ada.id), {"role": "admin"}, ada_access), 403, "last_owner")
    assert_error(delete(api_client, member_url(ada.id), ada_access), 403, "last_owner")
    assert_error(api_client.post(LEAVE, **bearer(ada_access)), 403, "last_owner")

    ada = membership_of(user, org)
    assert (ada.role, ada.is_active) == (MembershipRole.OWNER, True)
    assert api_client.get(MEMBERS, **bearer(ada_access)).status_code == HTTPStatus.OK  # still signed in


@pytest.mark.django_db
def test_of_two_owners_one_may_demote_the_other(api_client, user, org, bob, bob_member, ada_access):
    assert patch(api_client, member_url(bob_member.id), {"role": "owner"}, ada_access).status_code == 200
    bob_access = access_for(api_client, bob.email)
    ada = membership_of(user, org)

    response = patch(api_client, member_url(ada.id), {"role": "member"}, bob_access)

    assert response.status_code == HTTPStatus.OK
    assert membership_of(user, org).role == MembershipRole.MEMBER
    # Bob is the last owner now.
    assert_error(
        patch(api_client, member_url(bob_member.id), {"role": "admin"}, bob_access), 403, "last_owner"
    )


@pytest.mark.django_db
def test_of_two_owners_one_may_remove_the_other_or_leave(api_client, user, org, bob, bob_member, ada_access):
    patch(api_client, member_url(bob_member.id), {"role": "owner"}, ada_access)
    bob_access = access_for(api_client, bob.email)

    assert api_client.post(LEAVE, **bearer(bob_access)).status_code == HTTPStatus.NO_CONTENT
    assert not membership_of(bob, org).is_active
    assert_error(api_client.post(LEAVE, **bearer(ada_access)), 403, "last_owner")


# --- Removal ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_removed_members_org_session_ends_and_their_other_org_session_lives(
    api_client, user, org, other_org, bob, bob_member, ada_access
):
    add_member(org=other_org, user=bob)
    bob_in_acme = access_for(api_client, bob.email, org)
    bob_in_globex = access_for(api_client, bob.email, other_org)
    assert api_client.get(MEMBERS, **bearer(bob_in_acme)).status_code == HTTPStatus.OK

    response = delete(api_client, member_url(bob_member.id), ada_access)

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert_session_ended(api_client, bob_in_acme)
    assert api_client.get(MEMBERS, **bearer(bob_in_globex)).status_code == HTTPStatus.OK
    assert api_client.get(ME, **bearer(bob_in_globex)).status_code == HTTPStatus.OK
    acme_session = Session.objects.get(user=bob, active_org=org)
    assert acme_session.revoked_reason == "membership_ended"
    assert Session.objects.get(user=bob, active_org=other_org).revoked_at is None
    assert not membership_of(bob, org).is_active
    assert emails_of(api_client.get(MEMBERS, **bearer(ada_access))) == [ADA]
    event = only(E.MEMBERSHIP_REMOVED)
    assert (event.org_id, event.actor_user_id, event.subject_user_id) == (org.id, user.id, bob.id)
    assert event.details == {"role": "member"}


@pytest.mark.django_db
def test_an_admin_removes_a_member_and_the_refresh_token_dies_too(
    api_client, org, bob, bob_member, grace_access
):
    pair = login(api_client, bob.email).json()

    assert delete(api_client, member_url(bob_member.id), grace_access).status_code == HTTPStatus.NO_CONTENT

    refreshed = api_client.post(f"{AUTH}/refresh/", {"refresh": pair["refresh"]}, format="json")
    assert refreshed.status_code == HTTPStatus.UNAUTHORIZED
    assert_session_ended(api_client, pair["access"])


@pytest.mark.django_db
def test_removing_twice_is_a_404(api_client, bob_member, ada_access):
    assert delete(api_client, member_url(bob_member.id), ada_access).status_code == HTTPStatus.NO_CONTENT

    assert_error(delete(api_client, member_url(bob_member.id), ada_access), 404, "member_not_found")
    assert_error(
        patch(api_client, member_url(bob_member.id), {"role": "admin"}, ada_access), 404, "member_not_found"
    )


# --- Leaving ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_leaving_ends_the_callers_session_in_the_org(api_client, org, other_org, bob, bob_member):
    add_member(org=other_org, user=bob)
    bob_in_acme = access_for(api_client, bob.email, org)
    bob_in_globex = access_for(api_client, bob.email, other_org)

    response = api_client.post(LEAVE, **bearer(bob_in_acme))

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert_session_ended(api_client, bob_in_acme)
    assert api_client.get(ME, **bearer(bob_in_globex)).status_code == HTTPStatus.OK
    assert not membership_of(bob, org).is_active
    event = only(E.MEMBERSHIP_LEFT)
    assert (event.org_id, event.actor_user_id, event.subject_user_id) == (org.id, bob.id, bob.id)
    assert events(type=E.MEMBERSHIP_REMOVED) == []
    # Signing in to the org again is refused: the membership has ended.
    assert login(api_client, bob.email, org=org.slug).status_code == HTTPStatus.FORBIDDEN


@pytest.mark.django_db
def test_leaving_without_an_org_is_forbidden(api_client, user, org, other_org):
    add_member(org=other_org, user=user)
    access = access_for(api_client, ADA)  # two orgs: no org chosen

    assert_error(api_client.post(LEAVE, **bearer(access)), 403, "no_active_org")


# --- Another org's member: 404, by the queryset and by RLS on its own ---------------------------------


@pytest.fixture
def globex_member(other_org) -> Membership:
    return add_member(org=other_org, user=make_user(email="otto@globex.test"))


@pytest.mark.django_db
def test_another_orgs_member_is_a_404(api_client, org, other_org, globex_member, ada_access):
    for response in (
        patch(api_client, member_url(globex_member.id), {"role": "admin"}, ada_access),
        delete(api_client, member_url(globex_member.id), ada_access),
        patch(api_client, member_url(uuid.uuid4()), {"role": "admin"}, ada_access),
    ):
        assert response.status_code == HTTPStatus.NOT_FOUND
        assert response.json() == {
            "detail": "No such member in this organization.",
            "code": "member_not_found",
        }
    otto = membership_of(globex_member.user, other_org)
    assert (otto.role, otto.is_active) == (MembershipRole.MEMBER, True)
    assert events(type=E.MEMBERSHIP_ROLE_CHANGED) + events(type=E.MEMBERSHIP_REMOVED) == []


@pytest.mark.django_db
def test_rls_alone_hides_another_orgs_membership(org, other_org, globex_member):
    with tenant_context(org.id):
        # No org filter at all: only the policy stands between Acme's scope and Globex's row.
        assert not Membership.objects.filter(pk=globex_member.id).exists()
        assert Membership.objects.filter(pk=globex_member.id).update(role=MembershipRole.OWNER) == 0
        # The service's own org filter even names Globex: RLS still answers nothing.
        with pytest.raises(MemberNotFound):
            member_get(org_id=other_org.id, membership_id=globex_member.id)
    with tenant_context(other_org.id):
        assert Membership.objects.filter(pk=globex_member.id).exists()
    assert membership_of(globex_member.user, other_org).role == MembershipRole.MEMBER


# --- org/: rename -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_admin_renames_the_org_and_the_slug_follows(api_client, org, grace_admin, grace_access):
    response = patch(api_client, ORG, {"name": "  Acme Labs  "}, grace_access)

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"id": str(org.id), "name": "Acme Labs", "slug": "acme-labs", "role": "admin"}
    org.refresh_from_db()
    assert (org.name, org.slug) == ("Acme Labs", "acme-labs")
    event = only(E.ORG_RENAMED)
    assert (event.org_id, event.actor_user_id) == (org.id, grace_admin.user_id)
    assert event.details == {"from": "Acme", "to": "Acme Labs"}
    # Signing in by the new slug works.
    assert login(api_client, "grace@example.com", org="acme-labs").status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_renaming_to_a_taken_slug_is_a_409(api_client, org, other_org, ada_access):
    response = patch(api_client, ORG, {"name": "GLOBEX"}, ada_access)

    assert_error(response, 409, "org_slug_taken")
    org.refresh_from_db()
    assert (org.name, org.slug) == ("Acme", "acme")
    assert events(type=E.ORG_RENAMED) == []


@pytest.mark.django_db
def test_renaming_to_the_same_name_records_nothing(api_client, org, ada_access):
    response = patch(api_client, ORG, {"name": "Acme"}, ada_access)

    assert response.status_code == HTTPStatus.OK
    assert events(type=E.ORG_RENAMED) == []


@pytest.mark.django_db
def test_a_member_cannot_rename_the_org(api_client, org, bob_access):
    assert_error(patch(api_client, ORG, {"name": "Bobco"}, bob_access), 403, INSUFFICIENT_ROLE)
    org.refresh_from_db()
    assert org.name == "Acme"


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["", "!!!"])
def test_renaming_to_an_invalid_name_is_a_400(api_client, org, ada_access, name):
    response = patch(api_client, ORG, {"name": name}, ada_access)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    org.refresh_from_db()
    assert org.name == "Acme"


# --- org/: delete -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_owner_deletes_the_org_with_its_exact_name(api_client, user, org, other_org, bob, bob_member):
    add_member(org=other_org, user=bob)
    ada_access = access_for(api_client, ADA)
    bob_in_acme = access_for(api_client, bob.email, org)
    bob_in_globex = access_for(api_client, bob.email, other_org)
    with tenant_context(org.id):
        Invitation.objects.create(
            org=org, email="new@example.com", digest="d" * 64, expires_at="2999-01-01T00:00:00Z"
        )
    org_id = org.id

    response = delete(api_client, ORG, ada_access, {"confirm": "Acme"})

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert_session_ended(api_client, ada_access)
    assert_session_ended(api_client, bob_in_acme)
    assert api_client.get(MEMBERS, **bearer(bob_in_globex)).status_code == HTTPStatus.OK
    assert not Organization.objects.filter(pk=org_id).exists()
    assert not Session.objects.filter(active_org_id=org_id).exists()
    with cross_tenant():
        assert not Membership.objects.filter(org_id=org_id).exists()
        assert not Invitation.objects.filter(org_id=org_id).exists()
        assert Membership.objects.filter(org=other_org, user=bob, is_active=True).exists()
    event = only(E.ORG_DELETED)
    assert (event.org_id, event.actor_user_id, event.subject_user_id) == (None, user.id, user.id)
    assert event.details == {"org_id": str(org_id)}  # not its name: the deleter's other orgs see this event
    assert events(org_id=org_id) == []  # the org's own events went with it
    assert events(type=E.MEMBERSHIP_ENDED) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param({"confirm": "acme"}, "confirmation_mismatch", id="other-case"),
        pytest.param({"confirm": "Acme "}, "confirmation_mismatch", id="trailing-space"),
        pytest.param({"confirm": "Globex"}, "confirmation_mismatch", id="another-name"),
        pytest.param({}, "confirm", id="missing"),
        pytest.param({"confirm": ""}, "confirm", id="blank"),
    ],
)
def test_deleting_without_the_exact_name_is_a_400(api_client, org, ada_access, body, expected):
    response = delete(api_client, ORG, ada_access, body)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    body = response.json()
    if expected == "confirmation_mismatch":
        assert body == {
            "detail": "Type the organization's exact name in `confirm` to delete it.",
            "code": expected,
        }
    else:
        assert list(body) == [expected]
    assert Organization.objects.filter(pk=org.id).exists()
    assert api_client.get(MEMBERS, **bearer(ada_access)).status_code == HTTPStatus.OK
    assert events(type=E.ORG_DELETED) == []


@pytest.mark.django_db
def test_an_admin_or_member_cannot_delete_the_org(api_client, org, grace_access, bob_access):
    for access in (grace_access, bob_access):
        assert_error(delete(api_client, ORG, access, {"confirm": "Acme"}), 403, INSUFFICIENT_ROLE)
    assert Organization.objects.filter(pk=org.id).exists()
