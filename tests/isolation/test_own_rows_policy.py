"""The membership table's own-rows policy: a user's own memberships across orgs, for one statement only,
read-only. Everything else stays scoped to the request's org."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from tenants.models import Membership
from tenants.policy import MembershipRole
from tenants.rls.context import USER_SETTING, own_rows, tenant_context
from tests.factories import add_member, make_org, make_user

ALL_MEMBERSHIPS = "SELECT m.org_id, m.user_id FROM tenants_membership m"


@pytest.fixture
def scene(user, org, other_org):
    """Ada owns Acme and is a member of Globex; Hank owns Globex; Bob is in Globex only."""
    add_member(org=other_org, user=user)
    bob = make_user(email="bob@globex.test")
    add_member(org=other_org, user=bob)
    return user, org, other_org, bob


def setting(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s, true)", [name])
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_own_rows_are_exactly_the_users_rows_in_every_org(scene):
    ada, acme, globex, bob = scene

    rows = own_rows(ALL_MEMBERSHIPS, {}, user_id=ada.id)  # no filter at all: the policy alone decides

    assert sorted(map(str, (org for org, _ in rows))) == sorted([str(acme.id), str(globex.id)])
    assert {user for _, user in rows} == {ada.id}
    assert {user for _, user in own_rows(ALL_MEMBERSHIPS, {}, user_id=bob.id)} == {bob.id}


@pytest.mark.django_db
def test_the_setting_ends_with_the_statement_and_unfiltered_queries_stay_in_the_org(scene):
    ada, acme, globex, _ = scene
    with tenant_context(acme.id):
        assert len(own_rows(ALL_MEMBERSHIPS, {}, user_id=ada.id)) == 2

        assert setting(USER_SETTING) == ""
        assert set(Membership.objects.values_list("org_id", flat=True)) == {acme.id}  # a forgotten filter
        assert not Membership.objects.filter(user=ada, org=globex).exists()


@pytest.mark.django_db
def test_a_user_cannot_write_their_rows_in_another_org_through_the_policy(scene):
    ada, acme, globex, _ = scene
    with tenant_context(acme.id), connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, true)", [USER_SETTING, str(ada.id)])
        assert Membership.objects.filter(user=ada, org=globex).exists()  # readable while set ...

        updated = Membership.objects.filter(user=ada, org=globex).update(role=MembershipRole.OWNER)
        deleted, _ = Membership.objects.filter(user=ada, org=globex).delete()

        assert (updated, deleted) == (0, 0)  # ... never writable
        cursor.execute("SELECT set_config(%s, '', true)", [USER_SETTING])
    with tenant_context(globex.id):
        assert Membership.objects.get(user=ada).role == MembershipRole.MEMBER


@pytest.mark.django_db
def test_a_user_cannot_insert_a_membership_in_another_org_through_the_policy(scene):
    ada, acme, _, _ = scene
    elsewhere = make_org(name="Initech", owner=make_user(email="peter@initech.test"))
    with pytest.raises(DatabaseError, match="row-level security"), tenant_context(acme.id):
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, %s, true)", [USER_SETTING, str(ada.id)])
        with transaction.atomic():
            Membership.objects.create(org=elsewhere, user=ada, role=MembershipRole.OWNER)
