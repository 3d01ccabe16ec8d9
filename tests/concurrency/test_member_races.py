"""Member management racing itself (second security review, item 5): two owners demoting each other at
once used to lock each other's membership rows in opposite orders, and Postgres broke the deadlock by
failing one of them (a 503). Every member change now takes the org's row first, so they queue."""

from __future__ import annotations

import threading
from http import HTTPStatus

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tenants.models import Membership
from tenants.policy import MembershipRole
from tenants.rls.context import cross_tenant
from tests.api import bearer, login
from tests.factories import add_member, make_user


def _at_once(*calls) -> list[int]:
    barrier = threading.Barrier(len(calls))
    statuses: list[int] = []

    def run(call) -> None:
        client = APIClient(raise_request_exception=False)  # a server error answers 500, as in production
        barrier.wait()
        try:
            statuses.append(call(client).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return statuses


@pytest.fixture
def two_owners(user, org) -> tuple[str, str, object, object]:
    """Ada and Eve, both owners of Acme: their access tokens and membership ids."""
    eve = make_user(email="eve@example.com")
    add_member(org=org, user=eve, role=MembershipRole.OWNER)
    ada_access = login(APIClient(), "ada@example.com").json()["access"]
    eve_access = login(APIClient(), "eve@example.com").json()["access"]
    with cross_tenant():
        ada_id = Membership.objects.get(org=org, user=user).pk
        eve_id = Membership.objects.get(org=org, user=eve).pk
    return ada_access, eve_access, ada_id, eve_id


def _one_owner_left(org) -> bool:
    with cross_tenant():
        return Membership.objects.filter(org=org, role=MembershipRole.OWNER, is_active=True).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_owners_removing_each_other_at_once_leave_one_owner_and_no_server_error(org, two_owners):
    """They queue on the org's row instead of deadlocking on each other's (before: 204 and a 500)."""
    ada_access, eve_access, ada_id, eve_id = two_owners

    def remove(access: str, target):
        return lambda client: client.delete(f"/api/auth/org/members/{target}/", **bearer(access))

    statuses = _at_once(remove(ada_access, eve_id), remove(eve_access, ada_id))

    assert len(statuses) == 2 and HTTPStatus.INTERNAL_SERVER_ERROR not in statuses
    assert sorted(statuses)[0] == HTTPStatus.NO_CONTENT
    assert _one_owner_left(org)


@pytest.mark.django_db(transaction=True)
def test_two_owners_demoting_each_other_at_once_never_deadlock(org, two_owners, monkeypatch):
    """Each holds its target's row when it checks its rights: both wait there for the other (at most a
    second, as two requests that interleave do), then look for the other owners, whose rows the other
    holds. Queued on the org's row, the second never gets that far until the first committed."""
    import tenants.services

    meet = threading.Barrier(2)
    check = tenants.services._may_act_on

    def may_act_on_then_meet(*args, **kwargs):
        check(*args, **kwargs)
        try:
            meet.wait(timeout=1)
        except threading.BrokenBarrierError:
            pass  # alone here: the other one is queued behind this one

    monkeypatch.setattr(tenants.services, "_may_act_on", may_act_on_then_meet)
    ada_access, eve_access, ada_id, eve_id = two_owners

    def demote(access: str, target):
        return lambda client: client.patch(
            f"/api/auth/org/members/{target}/", {"role": "admin"}, format="json", **bearer(access)
        )

    statuses = _at_once(demote(ada_access, eve_id), demote(eve_access, ada_id))

    assert sorted(statuses) == [HTTPStatus.OK, HTTPStatus.FORBIDDEN], statuses  # the second: last owner
    assert _one_owner_left(org)


@pytest.mark.django_db
def test_a_change_that_queued_behind_a_demotion_acts_with_the_demoted_role(user, org):
    """Owner Bob's request waited for the org's row while Ada demoted him to admin: when its turn comes it
    acts as an admin (403 for touching an owner), not with the role read when it was authenticated."""
    from tenants.services import OwnersOnly, member_role_change

    bob = add_member(org=org, user=make_user(email="bob@example.com"), role=MembershipRole.OWNER)
    cleo = add_member(org=org, user=make_user(email="cleo@example.com"), role=MembershipRole.OWNER)
    with cross_tenant():
        stale_bob = Membership.objects.get(pk=bob.pk)  # as authenticated: owner
        Membership.objects.filter(pk=bob.pk).update(role=MembershipRole.ADMIN)  # Ada's demotion committed

    from django.db import transaction

    from tenants.rls.context import tenant_context

    with tenant_context(org.id), pytest.raises(OwnersOnly), transaction.atomic():  # a savepoint to refuse in
        member_role_change(actor=stale_bob, membership_id=cleo.pk, role=MembershipRole.MEMBER)
    with cross_tenant():
        assert Membership.objects.get(pk=cleo.pk).role == MembershipRole.OWNER
