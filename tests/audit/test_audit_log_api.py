"""GET org/audit-log/: who may read it, what RLS alone lets an org see, pagination, filters; the purge
command and the read-only admin."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus
from io import StringIO

import pytest
from django.contrib import admin
from django.core.management import CommandError, call_command
from django.utils import timezone

from tenants.audit import AuditEventType as E
from tenants.audit import audit_record
from tenants.models import AuditEvent, Membership
from tenants.policy import MembershipRole
from tenants.rls.context import cross_tenant, tenant_context
from tests.api import AUTH, bearer, claims, login
from tests.audit.helpers import events
from tests.factories import add_member, make_user

AUDIT_LOG = f"{AUTH}/org/audit-log/"


def access_for(client, email: str, **extra) -> str:
    response = login(client, email, **extra)
    assert response.status_code == HTTPStatus.OK, response.content
    return response.json()["access"]


def audit_log(client, access: str, params=None):
    return client.get(AUDIT_LOG, params or {}, **bearer(access))


def ids(response) -> list[str]:
    assert response.status_code == HTTPStatus.OK, response.content
    return [event["id"] for event in response.json()["results"]]


def visible_ids() -> set:
    return set(AuditEvent.objects.values_list("id", flat=True))


@pytest.fixture
def owner_access(api_client, user, org) -> str:
    return access_for(api_client, user.email)


# --- Who may read ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_owner_and_admin_read_the_log_and_a_member_gets_403_insufficient_role(
    api_client, user, org, owner_access
):
    add_member(org=org, user=make_user(email="admin@example.com"), role=MembershipRole.ADMIN)
    add_member(org=org, user=make_user(email="member@example.com"), role=MembershipRole.MEMBER)

    assert audit_log(api_client, owner_access).status_code == HTTPStatus.OK
    assert audit_log(api_client, access_for(api_client, "admin@example.com")).status_code == HTTPStatus.OK
    refused = audit_log(api_client, access_for(api_client, "member@example.com"))

    assert refused.status_code == HTTPStatus.FORBIDDEN
    assert refused.json()["code"] == "insufficient_role"
    assert "results" not in refused.json()


@pytest.mark.django_db
def test_no_token_is_401(api_client, org):
    response = api_client.get(AUDIT_LOG)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert "results" not in response.json()


@pytest.mark.django_db
def test_token_without_an_org_is_403_no_active_org(api_client, user, org, other_org):
    add_member(org=other_org, user=user, role=MembershipRole.ADMIN)
    access = access_for(api_client, user.email)  # two orgs, none chosen
    assert claims(access).get("org_id") is None

    response = audit_log(api_client, access)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "no_active_org"


@pytest.mark.django_db
def test_event_body_says_who_did_what_to_whom(api_client, user, org, owner_access):
    sign_in = events(type=E.SIGN_IN_SUCCEEDED)[0]

    body = audit_log(api_client, owner_access, {"type": E.SIGN_IN_SUCCEEDED}).json()

    assert body["results"] == [
        {
            "id": str(sign_in.id),
            "occurred_at": body["results"][0]["occurred_at"],
            "type": "sign_in.succeeded",
            "org_id": str(org.id),
            "actor": {"type": "user", "id": str(user.id), "email": user.email},
            "subject": {
                "type": "session",
                "id": sign_in.subject_id,
                "user": {"id": str(user.id), "email": user.email},
            },
            "ip": "127.0.0.1",
            "user_agent": "",
            "details": {"method": "password", "amr": ["pwd"]},
        }
    ]


# --- Isolation: the API, and the policy alone ------------------------------------------------------


@pytest.mark.django_db
def test_org_admin_never_sees_another_orgs_events(api_client, user, org, other_org, owner_access):
    globex_member = add_member(org=other_org, user=make_user(email="otto@globex.test"))
    audit_record(E.USER_PASSWORD_CHANGED, subject_user_id=globex_member.user_id)  # user-level, Globex only
    audit_record(E.USER_PASSWORD_CHANGED, subject_user_id=user.id)  # user-level, about Acme's owner
    with cross_tenant():
        globex_ids = {str(i) for i in AuditEvent.objects.filter(org=other_org).values_list("id", flat=True)}
    globex_ids |= {str(e.id) for e in events(subject_user_id=globex_member.user_id, org=None)}
    assert len(globex_ids) >= 4

    seen = ids(audit_log(api_client, owner_access, {"page_size": 200}))

    assert globex_ids.isdisjoint(seen)
    expected = {str(e.id) for e in events(org=org)} | {str(e.id) for e in events(org=None, subject_user=user)}
    assert set(seen) == expected
    assert str(events(type=E.USER_PASSWORD_CHANGED, subject_user=user)[0].id) in seen


@pytest.mark.django_db
def test_the_policy_alone_scopes_events_to_the_current_org(org, other_org):
    acme_only = add_member(org=org, user=make_user(email="grace@acme.test")).user
    ended = add_member(org=org, user=make_user(email="gone@acme.test"))
    with tenant_context(org.id):
        membership = Membership.objects.get(id=ended.id)
        membership.is_active = False
        membership.save()
    audit_record(E.USER_PASSWORD_CHANGED, subject_user_id=acme_only.id)
    audit_record(E.USER_PASSWORD_CHANGED, subject_user_id=ended.user_id)
    audit_record(E.SIGN_IN_FAILED, actor_user_id=None, details={"reason": "unknown_email"})
    member_event = events(type=E.USER_PASSWORD_CHANGED, subject_user=acme_only)[0].id
    ended_event = events(type=E.USER_PASSWORD_CHANGED, subject_user_id=ended.user_id)[0].id
    orphan_event = events(type=E.SIGN_IN_FAILED)[0].id
    acme_rows = {e.id for e in events(org=org)}
    globex_rows = {e.id for e in events(org=other_org)}
    assert acme_rows and globex_rows

    with tenant_context(org.id):
        under_acme = visible_ids()  # no filter at all
    with tenant_context(other_org.id):
        under_globex = visible_ids()
    assert visible_ids() == set()  # no org: nothing
    with cross_tenant():
        everything = visible_ids()

    assert under_acme == acme_rows | {member_event}
    assert under_globex == globex_rows
    assert ended_event not in under_acme  # an ended member's user-level events leave the org's view
    assert orphan_event not in under_acme | under_globex
    assert {member_event, ended_event, orphan_event} | acme_rows | globex_rows <= everything


# --- Pagination ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_pagination_is_stable_while_new_events_arrive(api_client, user, org, owner_access):
    for n in range(5):
        audit_record(E.MEMBERSHIP_ROLE_CHANGED, org_id=org.id, details={"n": n})
    snapshot = audit_log(api_client, owner_access, {"page_size": 200}).json()["results"]
    assert len(snapshot) >= 8

    page = audit_log(api_client, owner_access, {"page_size": 2}).json()
    assert page["previous"] is None
    collected = [event["id"] for event in page["results"]]
    for n in range(3):  # new events arrive between pages
        audit_record(E.MEMBERSHIP_ROLE_CHANGED, org_id=org.id, details={"late": n})
    second_page_url = page["next"]
    while page["next"]:
        response = api_client.get(page["next"], **bearer(owner_access))
        page = response.json()
        assert len(page["results"]) <= 2
        collected += ids(response)

    assert collected == [event["id"] for event in snapshot]  # no duplicate, no gap, same order
    times = [event["occurred_at"] for event in snapshot]
    assert times == sorted(times, reverse=True)  # newest first
    back = api_client.get(
        api_client.get(second_page_url, **bearer(owner_access)).json()["previous"], **bearer(owner_access)
    )
    assert ids(back)[-2:] == collected[:2]  # the way back finds the same first page
    assert len(ids(audit_log(api_client, owner_access, {"page_size": 200}))) == len(snapshot) + 3


@pytest.mark.django_db
def test_a_forged_cursor_is_refused(api_client, owner_access):
    # "o=abc": an offset that is not a number
    response = api_client.get(AUDIT_LOG, {"cursor": "bz1hYmM="}, **bearer(owner_access))

    assert response.status_code == HTTPStatus.NOT_FOUND


@pytest.mark.django_db
@pytest.mark.parametrize("page_size", ["0", "201", "-1", "abc", "1.5", "²", "١٢", " 5"])
def test_page_size_out_of_range_is_400(api_client, owner_access, page_size):
    response = audit_log(api_client, owner_access, {"page_size": page_size})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "page_size" in str(response.json())


# --- Filters ---------------------------------------------------------------------------------------


@pytest.fixture
def history(api_client, user, org, owner_access):
    """Acme's log with a second member, a role change and a second session of the owner."""
    member = add_member(org=org, user=make_user(email="grace@acme.test"))
    with tenant_context(org.id):
        membership = Membership.objects.get(id=member.id)
        membership.role = MembershipRole.ADMIN
        membership.save()
    second = login(api_client, user.email).json()
    return {"member": member, "session_id": claims(second["access"])["sid"]}


def types_of(response) -> list[str]:
    assert response.status_code == HTTPStatus.OK, response.content
    return [event["type"] for event in response.json()["results"]]


@pytest.mark.django_db
def test_filter_by_one_type_and_by_two(api_client, owner_access, history):
    one = types_of(audit_log(api_client, owner_access, {"type": E.SIGN_IN_SUCCEEDED}))
    two = types_of(
        audit_log(api_client, owner_access, {"type": [E.MEMBERSHIP_CREATED, E.MEMBERSHIP_ROLE_CHANGED]})
    )

    assert one == [E.SIGN_IN_SUCCEEDED, E.SIGN_IN_SUCCEEDED]
    assert two == [E.MEMBERSHIP_ROLE_CHANGED, E.MEMBERSHIP_CREATED, E.MEMBERSHIP_CREATED]


@pytest.mark.django_db
def test_filter_by_actor(api_client, user, owner_access, history):
    response = audit_log(api_client, owner_access, {"actor": str(user.id)})

    assert sorted(types_of(response)) == sorted([E.ORG_CREATED, E.SIGN_IN_SUCCEEDED, E.SIGN_IN_SUCCEEDED])
    assert {event["actor"]["id"] for event in response.json()["results"]} == {str(user.id)}


@pytest.mark.django_db
def test_filter_by_subject_user_and_by_session(api_client, owner_access, history):
    member = history["member"]

    by_user = audit_log(api_client, owner_access, {"subject": str(member.user_id)})
    by_session = audit_log(api_client, owner_access, {"subject": history["session_id"]})
    by_membership = audit_log(api_client, owner_access, {"subject": str(member.id)})

    assert types_of(by_user) == [E.MEMBERSHIP_ROLE_CHANGED, E.MEMBERSHIP_CREATED]
    assert {event["subject"]["user"]["id"] for event in by_user.json()["results"]} == {str(member.user_id)}
    assert types_of(by_session) == [E.SIGN_IN_SUCCEEDED]
    assert by_session.json()["results"][0]["subject"]["id"] == history["session_id"]
    assert types_of(by_membership) == [E.MEMBERSHIP_ROLE_CHANGED, E.MEMBERSHIP_CREATED]


@pytest.mark.django_db
def test_filter_since_and_until(api_client, owner_access, history):
    everything = audit_log(api_client, owner_access).json()["results"]
    middle = everything[len(everything) // 2]

    since = audit_log(api_client, owner_access, {"since": middle["occurred_at"]}).json()["results"]
    until = audit_log(api_client, owner_access, {"until": middle["occurred_at"]}).json()["results"]
    window = audit_log(
        api_client,
        owner_access,
        {"since": everything[-1]["occurred_at"], "until": everything[0]["occurred_at"]},
    ).json()["results"]

    assert since + until == everything  # since is inclusive, until exclusive: a partition
    assert since[-1] == middle
    assert window == everything[1:]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params",
    [
        {"type": "sign_in.bogus"},
        {"type": ""},
        {"actor": "not-a-uuid"},
        {"actor": ""},
        {"subject": "x" * 65},
        {"since": "yesterday"},
        {"until": "2026-13-45"},
    ],
)
def test_invalid_filter_is_400(api_client, owner_access, params):
    response = audit_log(api_client, owner_access, params)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(response.json()) == list(params)  # the field map names the bad filter


# --- Retention -------------------------------------------------------------------------------------


def age(event_ids, days: int) -> None:
    with cross_tenant():
        AuditEvent.objects.filter(id__in=event_ids).update(occurred_at=timezone.now() - timedelta(days=days))


@pytest.mark.django_db
def test_purge_deletes_events_older_than_the_retention_and_keeps_newer(user, org):
    old = [e.id for e in events()]
    audit_record(E.USER_PASSWORD_CHANGED, subject_user_id=user.id)
    new = [e.id for e in events(type=E.USER_PASSWORD_CHANGED)]
    age(old, 400)
    out = StringIO()

    call_command("audit_purge", stdout=out)

    assert [e.id for e in events()] == new
    assert out.getvalue().startswith(f"Deleted {len(old)} audit event(s) older than 365 day(s) (before ")


@pytest.mark.django_db
def test_purge_with_days_and_batch_size_one(user, org, other_org):
    everything = [e.id for e in events()]
    old, recent = everything[:3], everything[3:]
    age(old, 40)
    age(recent[:1], 20)
    out = StringIO()

    call_command("audit_purge", "--days", "30", "--batch-size", "1", stdout=out)

    assert sorted(e.id for e in events()) == sorted(recent)
    assert out.getvalue().startswith("Deleted 3 audit event(s) older than 30 day(s)")


@pytest.mark.django_db
@pytest.mark.parametrize("args", [["--days", "0"], ["--batch-size", "0"]])
def test_purge_refuses_non_positive_arguments(org, args):
    with pytest.raises(CommandError):
        call_command("audit_purge", *args, stdout=StringIO())
    assert len(events()) == 2


# --- Admin -----------------------------------------------------------------------------------------


@pytest.fixture
def staff_client(client, db):
    client.force_login(make_user(email="root@example.com", is_staff=True, is_superuser=True))
    return client


@pytest.mark.django_db
def test_admin_changelist_shows_every_event_to_staff(staff_client, org):
    audit_record(E.SIGN_IN_FAILED, actor_user_id=None, details={"reason": "unknown_email"})

    response = staff_client.get("/admin/tenants/auditevent/")

    assert response.status_code == HTTPStatus.OK
    assert response.context["cl"].result_count == len(events()) == 3
    assert b"auditevent/add/" not in response.content


@pytest.mark.django_db
def test_admin_cannot_add_change_or_delete_events(staff_client, org):
    event = events()[0]
    model_admin = admin.site._registry[AuditEvent]
    request = staff_client.get("/admin/").wsgi_request

    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, event)
    assert not model_admin.has_delete_permission(request, event)
    assert staff_client.get("/admin/tenants/auditevent/add/").status_code == HTTPStatus.FORBIDDEN
    assert (
        staff_client.get(f"/admin/tenants/auditevent/{event.id}/delete/").status_code == HTTPStatus.FORBIDDEN
    )
    assert (
        staff_client.post(f"/admin/tenants/auditevent/{event.id}/delete/", {"post": "yes"}).status_code
        == HTTPStatus.FORBIDDEN
    )
    assert (
        staff_client.post(f"/admin/tenants/auditevent/{event.id}/change/", {"type": "x"}).status_code
        == HTTPStatus.FORBIDDEN
    )
    assert events()[0].type == event.type
    assert len(events()) == 2


# --- User-level events and the orgs a user joins (second security review, item 7) ---------------------


def _details_of(response, event_id) -> dict | None:
    assert response.status_code == HTTPStatus.OK, response.content
    found = [event for event in response.json()["results"] if event["id"] == str(event_id)]
    return found[0]["details"] if found else None


@pytest.mark.django_db
def test_an_org_does_not_see_what_happened_to_a_member_before_they_joined(api_client, user, org, other_org):
    bob = add_member(org=org, user=make_user(email="bob@example.com")).user
    audit_record(E.PASSKEY_REGISTERED, subject_user_id=bob.id, details={"name": "Bob's work laptop"})
    before = events(type=E.PASSKEY_REGISTERED)[0].id
    add_member(org=other_org, user=bob)  # Globex: joins later
    audit_record(E.PASSKEY_RENAMED, subject_user_id=bob.id, details={"name": "Old laptop"})
    after = events(type=E.PASSKEY_RENAMED)[0].id
    globex = access_for(api_client, "hank@globex.test")

    shown = ids(audit_log(api_client, globex))

    assert str(before) not in shown
    assert str(after) in shown
    assert str(before) in ids(audit_log(api_client, access_for(api_client, user.email)))  # Acme: a member then


@pytest.mark.django_db
def test_a_rejoined_member_s_events_from_while_away_stay_hidden(api_client, user, org, other_org):
    from tenants.services import membership_ensure

    bob = add_member(org=other_org, user=make_user(email="bob@example.com"))
    with tenant_context(other_org.id):
        bob.is_active = False
        bob.save(update_fields=["is_active"])
    audit_record(E.SIGN_IN_FAILED, subject_user_id=bob.user_id, details={"reason": "wrong_password"})
    away = events(type=E.SIGN_IN_FAILED)[0].id
    membership_ensure(org=other_org, user=bob.user)

    shown = ids(audit_log(api_client, access_for(api_client, "hank@globex.test")))

    assert str(away) not in shown


@pytest.mark.django_db
def test_a_membership_reactivated_by_any_route_counts_from_the_rejoin(api_client, user, org, other_org):
    """Whatever route reactivates a membership (an accepted invitation, the admin's checkbox, an UPDATE),
    the database moves ``joined_at`` (migration tenants.0006's trigger)."""
    bob = add_member(org=other_org, user=make_user(email="bob@example.com"))
    with tenant_context(other_org.id):
        Membership.objects.filter(id=bob.id).update(is_active=False)
    audit_record(E.SIGN_IN_FAILED, subject_user_id=bob.user_id, details={"reason": "wrong_password"})
    away = events(type=E.SIGN_IN_FAILED)[0].id
    with tenant_context(other_org.id):
        Membership.objects.filter(id=bob.id).update(is_active=True)  # no service, no save(): the trigger
        rejoined = Membership.objects.get(id=bob.id).joined_at

    assert rejoined > events(type=E.SIGN_IN_FAILED)[0].occurred_at
    assert str(away) not in ids(audit_log(api_client, access_for(api_client, "hank@globex.test")))


@pytest.mark.django_db
def test_a_user_level_event_never_names_another_org(api_client, user, org, other_org):
    """A refresh replay of Ada's Acme session is shown to Globex (she is a member there too), without
    Acme's id; Acme sees its own id."""
    add_member(org=other_org, user=user, role=MembershipRole.ADMIN)
    audit_record(
        E.SESSION_REFRESH_REUSED, subject_user_id=user.id, details={"session_org_id": str(org.id), "n": 1}
    )
    event = events(type=E.SESSION_REFRESH_REUSED)[0].id
    audit_record(E.ORG_DELETED, subject_user_id=user.id, details={"org_id": str(org.id)})
    deleted = events(type=E.ORG_DELETED)[0].id
    in_acme = access_for(api_client, user.email, org=str(org.id))
    in_globex = access_for(api_client, user.email, org=str(other_org.id))

    assert _details_of(audit_log(api_client, in_globex), event) == {"n": 1}
    assert _details_of(audit_log(api_client, in_globex), deleted) == {}
    assert _details_of(audit_log(api_client, in_acme), event) == {"session_org_id": str(org.id), "n": 1}
