"""The tenant policy as the runtime role meets it: fail closed, one org at a time, reads and writes."""

from __future__ import annotations

import uuid

import pytest
from django.db import ProgrammingError, connection, transaction

from tenants.models import Membership
from tenants.policy import MembershipRole
from tenants.rls.context import TenantContextError, activate_org, cross_tenant, current_org_id, tenant_context
from tests.factories import add_member, make_org, make_user

RLS_VIOLATION = "new row violates row-level security policy"


def scalar(sql: str, params: list | None = None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def all_memberships() -> list[tuple[uuid.UUID, uuid.UUID, str]]:
    """Every org's memberships as ``(user_id, org_id, role)``, read through the cross-tenant path."""
    with cross_tenant():
        return sorted(Membership.objects.values_list("user_id", "org_id", "role"))


@pytest.fixture
def acme_member(org):
    return add_member(org=org, user=make_user(email="grace@acme.test"))


@pytest.fixture
def globex_member(other_org):
    return add_member(org=other_org, user=make_user(email="otto@globex.test"))


@pytest.mark.django_db
def test_no_org_set_sees_no_rows_and_no_error(org, other_org, acme_member, globex_member):
    assert current_org_id() is None
    assert Membership.objects.count() == 0
    assert list(Membership.objects.all()) == []
    assert len(all_memberships()) == 4  # the rows exist: RLS hides them


@pytest.mark.django_db
def test_active_org_sees_only_its_own_memberships(user, org, other_org, acme_member, globex_member):
    with tenant_context(org.id):
        rows = list(Membership.objects.values_list("org_id", "user_id"))
        assert Membership.objects.filter(org=other_org).count() == 0
    assert sorted(rows) == sorted([(org.id, user.id), (org.id, acme_member.user_id)])


@pytest.mark.django_db
def test_other_org_sees_only_its_own_memberships(org, other_org, globex_member):
    with tenant_context(other_org.id):
        org_ids = set(Membership.objects.values_list("org_id", flat=True))
        count = Membership.objects.count()
    assert org_ids == {other_org.id}
    assert count == 2


@pytest.mark.django_db
def test_insert_with_another_orgs_id_is_rejected_and_writes_nothing(org, other_org):
    intruder = make_user(email="mallory@example.com")
    with tenant_context(org.id):
        with pytest.raises(ProgrammingError, match=RLS_VIOLATION) as excinfo, transaction.atomic():
            Membership.objects.create(org=other_org, user=intruder, role=MembershipRole.OWNER)
        assert excinfo.value.__cause__.sqlstate == "42501"  # insufficient_privilege
    with cross_tenant():
        assert not Membership.objects.filter(user=intruder).exists()


@pytest.mark.django_db
def test_insert_with_no_org_set_is_rejected(org):
    intruder = make_user(email="mallory@example.com")
    with pytest.raises(ProgrammingError, match=RLS_VIOLATION), transaction.atomic():
        Membership.objects.create(org=org, user=intruder)
    with cross_tenant():
        assert not Membership.objects.filter(user=intruder).exists()


@pytest.mark.django_db
def test_update_moving_a_profile_to_another_org_is_rejected(org, other_org, acme_member):
    with tenant_context(org.id):
        with pytest.raises(ProgrammingError, match=RLS_VIOLATION), transaction.atomic():
            Membership.objects.filter(pk=acme_member.pk).update(org=other_org)
        acme_member.refresh_from_db()
    assert acme_member.org_id == org.id
    with cross_tenant():
        assert Membership.objects.get(pk=acme_member.pk).org_id == org.id


@pytest.mark.django_db
def test_saving_a_profile_into_another_org_is_rejected(org, other_org, acme_member):
    with tenant_context(org.id):
        membership = Membership.objects.get(pk=acme_member.pk)
        membership.org = other_org
        with pytest.raises(ProgrammingError, match=RLS_VIOLATION), transaction.atomic():
            membership.save()
    with cross_tenant():
        assert Membership.objects.get(pk=acme_member.pk).org_id == org.id


@pytest.mark.django_db
def test_update_of_another_orgs_rows_affects_nothing(org, other_org, globex_member):
    before = all_memberships()
    with tenant_context(org.id):
        assert Membership.objects.filter(org=other_org).update(role=MembershipRole.OWNER) == 0
        assert Membership.objects.filter(pk=globex_member.pk).update(is_active=False) == 0
    assert all_memberships() == before


@pytest.mark.django_db
def test_delete_of_another_orgs_rows_affects_nothing(org, other_org, globex_member):
    before = all_memberships()
    with tenant_context(org.id):
        deleted, _ = Membership.objects.filter(org=other_org).delete()
        assert deleted == 0
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM tenants_membership WHERE org_id = %s", [other_org.id])
            assert cursor.rowcount == 0
    assert all_memberships() == before


@pytest.mark.django_db
def test_raw_sql_is_filtered_too(org, other_org, acme_member):
    assert scalar("SELECT count(*) FROM tenants_membership") == 0
    assert scalar("SELECT count(*) FROM tenants_membership WHERE org_id = %s", [org.id]) == 0
    with tenant_context(org.id):
        assert scalar("SELECT count(*) FROM tenants_membership") == 2
        assert scalar("SELECT count(*) FROM tenants_membership WHERE org_id = %s", [other_org.id]) == 0


@pytest.mark.django_db
def test_empty_org_setting_fails_closed_without_a_cast_error(org):
    with transaction.atomic():
        scalar("SELECT set_config('app.current_org', '', true)")
        assert Membership.objects.count() == 0
        assert scalar("SELECT count(*) FROM tenants_membership") == 0


@pytest.mark.django_db
def test_unknown_org_id_sees_no_rows(org):
    with tenant_context(uuid.uuid4()):
        assert Membership.objects.count() == 0


@pytest.mark.django_db
def test_activate_org_none_clears_the_org_for_the_rest_of_the_transaction(org):
    with transaction.atomic():
        activate_org(org.id)
        assert Membership.objects.count() == 1
        activate_org(None)
        assert current_org_id() is None
        assert Membership.objects.count() == 0


@pytest.mark.django_db
def test_nested_tenant_context_restores_the_outer_org(org, other_org, globex_member):
    with tenant_context(org.id):
        with tenant_context(other_org.id):
            assert set(Membership.objects.values_list("org_id", flat=True)) == {other_org.id}
        assert current_org_id() == org.id
        assert set(Membership.objects.values_list("org_id", flat=True)) == {org.id}
    assert current_org_id() is None
    assert Membership.objects.count() == 0


@pytest.mark.django_db
def test_exception_inside_tenant_context_restores_the_outer_org(org):
    with pytest.raises(ValueError), tenant_context(org.id):
        assert Membership.objects.count() == 1
        raise ValueError("boom")
    assert current_org_id() is None
    assert Membership.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_persistent_connection_does_not_carry_the_org_into_the_next_transaction():
    assert connection.settings_dict["CONN_MAX_AGE"] == 600
    acme = make_org(name="Acme", owner=make_user(email="ada@example.com"))
    make_org(name="Globex", owner=make_user(email="hank@globex.test"))

    with transaction.atomic():
        activate_org(acme.id)
        first_pid = scalar("SELECT pg_backend_pid()")
        seen = list(Membership.objects.values_list("org_id", flat=True))
    assert seen == [acme.id]

    with transaction.atomic():
        assert scalar("SELECT pg_backend_pid()") == first_pid  # the same, reused connection
        assert scalar("SELECT current_setting('app.current_org', true)") in ("", None)
        assert current_org_id() is None
        assert Membership.objects.count() == 0
    # Autocommit statements on the same connection see nothing either.
    assert scalar("SELECT pg_backend_pid()") == first_pid
    assert Membership.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_activate_org_outside_a_transaction_raises():
    assert not connection.in_atomic_block
    with pytest.raises(TenantContextError):
        activate_org(uuid.uuid4())
    assert current_org_id() is None
