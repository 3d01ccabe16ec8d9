"""``tenants.rls.context.cross_tenant`` is the one way across orgs, and it leaves nothing elevated behind."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError

from tenants.models import Membership
from tenants.policy import MembershipRole
from tenants.rls.context import cross_tenant, current_org_id, tenant_context
from tenants.selectors import user_memberships
from tests.factories import add_member, make_org, make_user


def current_user() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_user_memberships_lists_every_org_with_no_org_active(user, org, other_org):
    add_member(org=other_org, user=user, role=MembershipRole.ADMIN)
    assert current_org_id() is None

    memberships = user_memberships(user_id=user.id)

    assert [(p.org.name, p.role) for p in memberships] == [
        ("Acme", MembershipRole.OWNER),
        ("Globex", MembershipRole.ADMIN),
    ]
    assert all(p.user_id == user.id for p in memberships)
    assert current_user() == settings.DATABASE_APP_ROLE
    assert Membership.objects.count() == 0  # nothing across orgs is visible after the block


@pytest.mark.django_db
def test_user_memberships_skips_inactive_memberships(user, org, other_org):
    membership = add_member(org=other_org, user=user)
    with tenant_context(other_org.id):
        Membership.objects.filter(pk=membership.pk).update(is_active=False)
    assert [p.org_id for p in user_memberships(user_id=user.id)] == [org.id]


@pytest.mark.django_db
def test_user_memberships_inside_a_tenant_context_restores_the_context(user, org, other_org):
    add_member(org=other_org, user=user)
    with tenant_context(org.id):
        assert len(user_memberships(user_id=user.id)) == 2
        assert current_user() == settings.DATABASE_APP_ROLE
        assert current_org_id() == org.id
        assert set(Membership.objects.values_list("org_id", flat=True)) == {org.id}


@pytest.mark.django_db
def test_cross_tenant_sees_every_orgs_rows_and_nothing_outside(org, other_org):
    add_member(org=other_org, user=make_user(email="otto@globex.test"))
    with cross_tenant():
        assert current_user() == settings.DATABASE_CROSS_TENANT_ROLE
        inside = Membership.objects.count()
        org_ids = set(Membership.objects.values_list("org_id", flat=True))
    assert inside == 3
    assert org_ids == {org.id, other_org.id}
    assert current_user() == settings.DATABASE_APP_ROLE
    assert Membership.objects.count() == 0


@pytest.mark.django_db
def test_cross_tenant_may_write_to_any_org(org, other_org):
    newcomer = make_user(email="newcomer@example.com")
    with cross_tenant():
        Membership.objects.create(org=other_org, user=newcomer)
    with tenant_context(other_org.id):
        assert Membership.objects.filter(user=newcomer).exists()


@pytest.mark.django_db
def test_exception_inside_cross_tenant_leaves_no_elevated_role(org, other_org):
    with transaction.atomic():
        try:
            with cross_tenant():
                assert current_user() == settings.DATABASE_CROSS_TENANT_ROLE
                raise ValueError("boom")
        except ValueError:
            pass
        # The enclosing block is marked for rollback: nothing more runs in it with the elevated role.
        assert transaction.get_rollback()
        with pytest.raises(TransactionManagementError):
            Membership.objects.count()

    with transaction.atomic():
        assert current_user() == settings.DATABASE_APP_ROLE
        assert Membership.objects.count() == 0


@pytest.mark.django_db
def test_exception_inside_cross_tenant_rolls_back_its_writes(org, other_org):
    newcomer = make_user(email="newcomer@example.com")
    with pytest.raises(ValueError), transaction.atomic():
        with cross_tenant():
            Membership.objects.create(org=other_org, user=newcomer)
            raise ValueError("boom")
    assert current_user() == settings.DATABASE_APP_ROLE
    with cross_tenant():
        assert not Membership.objects.filter(user=newcomer).exists()


@pytest.mark.django_db
def test_active_org_cannot_read_another_org_by_filtering(org, other_org):
    with tenant_context(org.id):
        assert list(Membership.objects.filter(org=other_org)) == []
        assert list(Membership.objects.filter(org_id=other_org.id).values_list("id", flat=True)) == []
        assert not Membership.objects.filter(user__email="hank@globex.test").exists()
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM tenants_membership WHERE org_id = %s", [other_org.id])
            assert cursor.fetchone()[0] == 0


@pytest.mark.django_db
def test_admin_profile_list_shows_members_of_every_org(admin_client, org, other_org):
    response = admin_client.get("/admin/tenants/membership/")
    assert response.status_code == 200
    assert b"ada@example.com" in response.content
    assert b"hank@globex.test" in response.content
    assert current_user() == settings.DATABASE_APP_ROLE  # the request left no elevated role behind


@pytest.mark.django_db
def test_admin_organization_page_shows_its_member_inline(admin_client, org, other_org):
    response = admin_client.get(f"/admin/tenants/organization/{other_org.id}/change/")
    assert response.status_code == 200
    assert b"Globex" in response.content
    assert b"hank@globex.test" in response.content
    assert b"ada@example.com" not in response.content
    inline = response.context["inline_admin_formsets"][0].formset
    assert [form.instance.user.email for form in inline.forms] == ["hank@globex.test"]


@pytest.mark.django_db
def test_admin_user_list_is_available(admin_client, user):
    response = admin_client.get("/admin/accounts/user/")
    assert response.status_code == 200
    assert b"ada@example.com" in response.content


@pytest.mark.django_db
def test_admin_saves_a_change_to_another_orgs_membership(admin_client, org, other_org):
    with cross_tenant():
        membership = Membership.objects.select_related("user").get(org=other_org)
    url = f"/admin/tenants/membership/{membership.pk}/change/"
    form = admin_client.get(url).context["adminform"].form
    assert {"user", "org", "role", "is_active"} <= set(form.fields)

    response = admin_client.post(
        url,
        {
            "user": membership.user_id,
            "org": other_org.id,
            "role": MembershipRole.MEMBER,
            "is_active": "on",
            "_save": "Save",
        },
    )

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    assert response["Location"] == "/admin/tenants/membership/"
    with cross_tenant():
        saved = Membership.objects.get(pk=membership.pk)
    assert (saved.role, saved.org_id, saved.is_active) == (MembershipRole.MEMBER, other_org.id, True)
    assert current_user() == settings.DATABASE_APP_ROLE


def test_admin_site_is_the_cross_tenant_site():
    from django.contrib import admin

    from config.admin import AuthServiceAdminSite

    assert isinstance(admin.site, AuthServiceAdminSite)


@pytest.mark.django_db(transaction=True)
def test_exception_in_top_level_cross_tenant_leaves_the_reused_connection_unelevated():
    acme = make_org(name="Acme", owner=make_user(email="ada@example.com"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    assert not connection.in_atomic_block

    with pytest.raises(ValueError), cross_tenant():
        assert Membership.objects.filter(org=acme).count() == 1
        raise ValueError("boom")

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), current_user")
        assert cursor.fetchone() == (pid, settings.DATABASE_APP_ROLE)
    assert Membership.objects.count() == 0
