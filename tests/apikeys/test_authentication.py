"""``X-API-Key``: the key is the principal in its org (RLS as for a Bearer token of that org), its scopes
decide what it may call; an unknown, tampered, revoked, expired or malformed key is 401, as is one in the
query string; a key and a Bearer token together are 400."""

from __future__ import annotations

import uuid
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.utils import timezone

from tenants.models import Membership
from tenants.policy import MembershipRole
from tenants.rls.context import cross_tenant
from tests.api import AUTH, bearer
from tests.apikeys.helpers import (
    AUDIT_LOG,
    INVITATIONS,
    KEY_RE,
    KEYS,
    ME,
    MEMBERS,
    assert_error,
    assert_refused,
    member_url,
    new_key,
    revoke,
    stored,
    stored_update,
    with_key,
)
from tests.factories import add_member, make_user

INSUFFICIENT_SCOPE = "insufficient_scope"


def emails(response) -> list[str]:
    return sorted(entry["user"]["email"] for entry in response.json())


def changed(key: str, index: int) -> str:
    """``key`` with its character at ``index`` replaced by another one of the same alphabet."""
    replacement = "A" if key[index] != "A" else "B"
    return key[:index] + replacement + key[index + 1 :]


# --- A working key ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_key_lists_its_orgs_members(api_client, org, other_org, bob_member, acme_key):
    response = api_client.get(MEMBERS, **with_key(acme_key["key"]))

    assert response.status_code == HTTPStatus.OK, response.content
    assert emails(response) == ["ada@example.com", "bob@example.com"]  # Acme's, not Globex's
    assert response["X-Total-Count"] == "2"


@pytest.mark.django_db
def test_surrounding_whitespace_is_ignored(api_client, org, acme_key):
    response = api_client.get(MEMBERS, **with_key(f"  {acme_key['key']} "))

    assert response.status_code == HTTPStatus.OK, response.content


@pytest.mark.django_db
def test_me_for_a_key_is_its_org_and_itself(api_client, org, acme_key):
    response = api_client.get(ME, **with_key(acme_key["key"]))

    assert response.status_code == HTTPStatus.OK, response.content
    assert response.json() == {
        "user": None,
        "org": {"id": str(org.id), "name": "Acme", "slug": org.slug},
        "api_key": {
            "id": acme_key["id"],
            "name": acme_key["name"],
            "prefix": acme_key["prefix"],
            "scopes": acme_key["scopes"],
        },
    }
    assert acme_key["key"] not in response.content.decode()


@pytest.mark.django_db
def test_a_key_with_members_write_removes_a_member_but_raises_nobody(
    api_client, org, bob_member, acme_writer, mailoutbox
):
    """A key grants at most what a member has: a leaked key cannot make (or invite) an admin, who could
    then mint keys with every scope."""
    key = with_key(acme_writer["key"])

    promote = api_client.patch(member_url(bob_member.id), {"role": "admin"}, format="json", **key)
    invite_admin = api_client.post(
        INVITATIONS, {"email": "evil@example.com", "role": "admin"}, format="json", **key
    )
    remove = api_client.delete(member_url(bob_member.id), **key)

    assert_error(promote, HTTPStatus.FORBIDDEN, "insufficient_role")
    assert_error(invite_admin, HTTPStatus.FORBIDDEN, "insufficient_role")
    assert remove.status_code == HTTPStatus.NO_CONTENT
    with cross_tenant():
        assert not Membership.objects.get(pk=bob_member.pk).is_active


@pytest.mark.django_db
def test_a_key_cannot_touch_an_admin(api_client, org, acme_writer):
    grace = make_user(email="grace.admin@example.com")
    admin = add_member(org=org, user=grace, role=MembershipRole.ADMIN)

    response = api_client.delete(member_url(admin.id), **with_key(acme_writer["key"]))

    assert_error(response, HTTPStatus.FORBIDDEN, "insufficient_role")


@pytest.mark.django_db
def test_a_key_cannot_touch_an_owner(api_client, org, user, acme_writer):
    """A key acts with an admin's ceiling: owners are out of its reach."""
    with cross_tenant():
        ada = Membership.objects.get(org=org, user=user)
    key = with_key(acme_writer["key"])

    response = api_client.patch(member_url(ada.id), {"role": "member"}, format="json", **key)
    assert_error(response, HTTPStatus.FORBIDDEN, "insufficient_role")
    assert_error(api_client.delete(member_url(ada.id), **key), HTTPStatus.FORBIDDEN, "insufficient_role")
    response = api_client.post(INVITATIONS, {"email": "o@example.com", "role": "owner"}, format="json", **key)
    assert_error(response, HTTPStatus.FORBIDDEN, "insufficient_role")


# --- Refused keys: 401 ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_one_character_changed_is_401(api_client, org, acme_key):
    key = acme_key["key"]
    match = KEY_RE.fullmatch(key)
    positions = [
        0,  # the product prefix
        match.start("public_id"),
        match.end("public_id") - 1,
        match.start("secret"),
        len(key) // 2 + 10,
        len(key) - 1,
    ]
    for index in positions:
        assert_refused(api_client.get(MEMBERS, **with_key(changed(key, index))))
    assert_refused(api_client.get(MEMBERS, **with_key(key[:-1])))
    assert_refused(api_client.get(MEMBERS, **with_key(key + "x")))
    assert api_client.get(MEMBERS, **with_key(key)).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_a_revoked_key_is_401_on_the_next_request(api_client, ada_access, acme_key):
    key = with_key(acme_key["key"])
    assert api_client.get(ME, **key).status_code == HTTPStatus.OK

    revoke(api_client, ada_access, acme_key["id"])

    assert_refused(api_client.get(ME, **key))
    assert_refused(api_client.get(MEMBERS, **key))


@pytest.mark.django_db
def test_a_key_cannot_be_created_already_expired(api_client, ada_access):
    response = api_client.post(
        KEYS,
        {"name": "dead", "expires_at": (timezone.now() - timedelta(seconds=1)).isoformat()},
        format="json",
        **bearer(ada_access),
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert set(response.json()) == {"expires_at"}


@pytest.mark.django_db
def test_a_key_past_its_expiry_is_401(api_client, ada_access):
    body = new_key(api_client, ada_access, expires_at=(timezone.now() + timedelta(hours=1)).isoformat())
    key = with_key(body["key"])
    assert api_client.get(MEMBERS, **key).status_code == HTTPStatus.OK

    stored_update(body["id"], expires_at=timezone.now() - timedelta(seconds=1))

    assert_refused(api_client.get(MEMBERS, **key))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("", id="empty"),
        pytest.param("authsvc", id="prefix-only"),
        pytest.param("authsvc__", id="no-id-no-secret"),
        pytest.param("authsvc_abc_def", id="short-public-id"),
        pytest.param("authsvc_ABCDEFGHI_secret", id="long-public-id"),
        pytest.param("authsvc_ABCDEFGH_", id="no-secret"),
        pytest.param("authsvc_ABCDEFGH", id="no-secret-part"),
        pytest.param("sk_live_ABCDEFGH_secret", id="another-prefix"),
        pytest.param("Bearer authsvc_ABCDEFGH_secret", id="a-scheme"),
        pytest.param("ABCDEFGH_secret", id="no-prefix"),
        pytest.param("authsvc_ÀBCDÉFGH_sécret", id="non-ascii"),
        pytest.param("authsvc_ABCD\x00FGH_secret", id="null-byte-in-public-id"),
        pytest.param("authsvc_ABCDEFGH_sec\x00ret", id="null-byte-in-secret"),
        pytest.param("x" * 5000, id="huge"),
    ],
)
def test_a_malformed_key_is_401(api_client, org, acme_key, raw):
    assert_refused(api_client.get(MEMBERS, **with_key(raw)))


@pytest.mark.django_db
def test_the_right_secret_under_another_public_id_is_401(api_client, ada_access, acme_key):
    other = new_key(api_client, ada_access, name="other")
    secret = KEY_RE.fullmatch(acme_key["key"])["secret"]

    assert_refused(api_client.get(MEMBERS, **with_key(f"{other['prefix']}_{secret}")))


@pytest.mark.django_db
@pytest.mark.parametrize("parameter", ["api_key", "key", "apikey", "X-API-Key", "access_token"])
def test_a_key_in_the_query_string_is_401(api_client, org, acme_key, parameter):
    response = api_client.get(MEMBERS, {parameter: acme_key["key"]})

    assert response.status_code == HTTPStatus.UNAUTHORIZED, response.content
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.django_db
def test_a_key_in_a_form_body_or_cookie_is_not_accepted(api_client, org, acme_key):
    api_client.cookies["api_key"] = acme_key["key"]
    response = api_client.generic(
        "GET", MEMBERS, f"api_key={acme_key['key']}", "application/x-www-form-urlencoded"
    )

    assert response.status_code == HTTPStatus.UNAUTHORIZED, response.content


@pytest.mark.django_db
def test_a_key_and_a_bearer_token_are_400(api_client, org, ada_access, acme_key):
    for url in (MEMBERS, ME, f"{AUTH}/sessions/"):
        response = api_client.get(url, **with_key(acme_key["key"]), **bearer(ada_access))
        assert_error(response, HTTPStatus.BAD_REQUEST, "ambiguous_credentials")
    assert response.json()["detail"] == "Send either a Bearer token or an API key, not both."


@pytest.mark.django_db
def test_a_refused_key_and_a_bearer_token_are_400_too(api_client, org, ada_access):
    response = api_client.get(MEMBERS, **with_key("authsvc_nonsense"), **bearer("not-a-token"))

    assert_error(response, HTTPStatus.BAD_REQUEST, "ambiguous_credentials")


@pytest.mark.django_db
def test_a_key_and_another_authorization_scheme_are_400(api_client, org, acme_key):
    response = api_client.get(
        MEMBERS, HTTP_AUTHORIZATION="Basic YWRhOnNlY3JldA==", **with_key(acme_key["key"])
    )

    assert_error(response, HTTPStatus.BAD_REQUEST, "ambiguous_credentials")


# --- Another org's objects: 404 -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_key_cannot_reach_another_orgs_member(api_client, org, other_org, acme_writer):
    with cross_tenant():
        hank = Membership.objects.get(org=other_org, user__email="hank@globex.test")
    key = with_key(acme_writer["key"])

    response = api_client.patch(member_url(hank.id), {"role": "member"}, format="json", **key)
    assert_error(response, HTTPStatus.NOT_FOUND, "member_not_found")
    assert_error(api_client.delete(member_url(hank.id), **key), HTTPStatus.NOT_FOUND, "member_not_found")

    with cross_tenant():
        hank.refresh_from_db()
    assert (hank.role, hank.is_active) == (MembershipRole.OWNER, True)


@pytest.mark.django_db
def test_a_key_cannot_reach_another_orgs_invitation(api_client, hank_access, acme_writer, mailoutbox):
    created = api_client.post(INVITATIONS, {"email": "g@example.com"}, format="json", **bearer(hank_access))
    assert created.status_code == HTTPStatus.CREATED, created.content
    invitation_id = created.json()["id"]
    key = with_key(acme_writer["key"])

    assert_error(
        api_client.delete(f"{INVITATIONS}{invitation_id}/", **key),
        HTTPStatus.NOT_FOUND,
        "invitation_not_found",
    )
    response = api_client.post(f"{INVITATIONS}{invitation_id}/resend/", **key)
    assert_error(response, HTTPStatus.NOT_FOUND, "invitation_not_found")
    assert api_client.get(INVITATIONS, **key).json() == []
    assert [entry["id"] for entry in api_client.get(INVITATIONS, **bearer(hank_access)).json()] == [
        invitation_id
    ]


@pytest.mark.django_db
def test_an_unknown_member_is_404(api_client, org, acme_writer):
    response = api_client.delete(member_url(uuid.uuid4()), **with_key(acme_writer["key"]))

    assert_error(response, HTTPStatus.NOT_FOUND, "member_not_found")


# --- Scopes: 403 insufficient_scope ------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("scopes", "method", "url", "body"),
    [
        pytest.param(["members:read"], "get", AUDIT_LOG, None, id="audit-log-without-audit-read"),
        pytest.param(["audit:read"], "get", MEMBERS, None, id="members-without-members-read"),
        pytest.param(["members:read"], "get", INVITATIONS, None, id="invitations-without-invitations-read"),
        pytest.param(None, "post", INVITATIONS, {"email": "new@example.com"}, id="invite-with-read-scopes"),
        pytest.param(
            ["invitations:read"], "post", INVITATIONS, {"email": "n@example.com"}, id="invite-read-only"
        ),
        pytest.param(None, "patch", f"{AUTH}/org/", {"name": "Hijacked"}, id="rename-org"),
        pytest.param(None, "delete", f"{AUTH}/org/", {"confirm": "Acme"}, id="delete-org"),
        pytest.param(None, "get", f"{AUTH}/org/", None, id="org-has-no-scope"),
    ],
)
def test_a_missing_scope_is_403(api_client, org, ada_access, scopes, method, url, body):
    created = new_key(api_client, ada_access, **({} if scopes is None else {"scopes": scopes}))

    response = getattr(api_client, method)(url, body, format="json", **with_key(created["key"]))

    assert_error(response, HTTPStatus.FORBIDDEN, INSUFFICIENT_SCOPE)
    assert response.json()["detail"] == "This API key's scopes do not allow this."


@pytest.mark.django_db
def test_members_write_without_members_read_can_change_but_not_list(api_client, org, ada_access, bob_member):
    created = new_key(api_client, ada_access, scopes=["members:write"])
    key = with_key(created["key"])

    assert_error(api_client.get(MEMBERS, **key), HTTPStatus.FORBIDDEN, INSUFFICIENT_SCOPE)
    response = api_client.patch(member_url(bob_member.id), {"role": "member"}, format="json", **key)
    assert response.status_code == HTTPStatus.OK, response.content


@pytest.mark.django_db
def test_a_key_with_read_scopes_reads_the_audit_log_and_invitations(api_client, org, acme_key):
    key = with_key(acme_key["key"])

    log = api_client.get(AUDIT_LOG, **key)
    assert log.status_code == HTTPStatus.OK, log.content
    assert "api_key.created" in [event["type"] for event in log.json()["results"]]
    assert api_client.get(INVITATIONS, **key).status_code == HTTPStatus.OK
    assert stored(acme_key["id"]).last_used_at is not None


# --- Endpoints for users: 403 api_key_not_allowed -----------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "sessions/", None),
        ("delete", f"sessions/{uuid.uuid4()}/", None),
        ("post", "logout/", {}),
        ("post", "logout-all/", None),
        ("patch", "me/", {"first_name": "Key"}),
        ("post", "org/leave/", None),
        ("get", "orgs/", None),
        ("post", "orgs/", {"name": "Keyed"}),
        ("post", "switch-org/", {"org": "acme"}),
        ("post", "password/change/", {"current_password": "x" * 8, "new_password": "y" * 12}),
        ("get", "me/identities/", None),
        ("post", "email/verify/request/", None),
    ],
)
def test_endpoints_for_users_refuse_a_key(api_client, org, user, acme_writer, method, path, body):
    response = getattr(api_client, method)(
        f"{AUTH}/{path}", body, format="json", **with_key(acme_writer["key"])
    )

    assert_error(response, HTTPStatus.FORBIDDEN, "api_key_not_allowed")
    user.refresh_from_db()
    assert user.first_name == ""


@pytest.mark.django_db
def test_public_endpoints_ignore_a_key(api_client, org, acme_key):
    """Endpoints without authentication (``PublicView``) never look at ``X-API-Key``: refresh/ with a key
    and no refresh token answers as it does without the key (401, no refresh token), not as the key."""
    without = api_client.post(f"{AUTH}/refresh/", {}, format="json")
    with_the_key = api_client.post(f"{AUTH}/refresh/", {}, format="json", **with_key(acme_key["key"]))

    assert with_the_key.status_code == without.status_code
    assert with_the_key.json() == without.json()
    assert stored(acme_key["id"]).last_used_at is None  # the key was not even looked up


# --- last_used_at -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_last_used_at_is_set_on_use_and_not_rewritten_within_a_minute(api_client, org, acme_key):
    assert stored(acme_key["id"]).last_used_at is None
    key = with_key(acme_key["key"])
    before = timezone.now()

    api_client.get(MEMBERS, **key)
    first = stored(acme_key["id"]).last_used_at
    api_client.get(ME, **key)
    second = stored(acme_key["id"]).last_used_at

    assert first is not None
    assert before <= first <= timezone.now()
    assert second == first


@pytest.mark.django_db
def test_last_used_at_is_rewritten_after_a_minute(api_client, org, acme_key):
    key = with_key(acme_key["key"])
    api_client.get(MEMBERS, **key)
    long_ago = timezone.now() - timedelta(minutes=1, seconds=1)
    stored_update(acme_key["id"], last_used_at=long_ago)

    api_client.get(MEMBERS, **key)

    assert stored(acme_key["id"]).last_used_at > long_ago + timedelta(minutes=1)


@pytest.mark.django_db
def test_a_refused_key_is_not_marked_used(api_client, ada_access, acme_key):
    revoke(api_client, ada_access, acme_key["id"])

    assert_refused(api_client.get(MEMBERS, **with_key(acme_key["key"])))

    assert stored(acme_key["id"]).last_used_at is None
