"""Which account a Google identity signs in: the linked one (by ``sub``), an existing account at the same
address only where Google is authoritative for it (Gmail, a Workspace ``hd``), else a new account."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from accounts.models import Session, User
from social.models import SocialIdentity
from tenants.audit import AuditEventType as E
from tenants.models import Membership
from tenants.policy import MembershipRole
from tenants.rls.context import cross_tenant
from tests.api import bearer, claims, login
from tests.audit.helpers import events, only
from tests.factories import DEFAULT_PASSWORD, add_member, make_org, make_user
from tests.social.helpers import ME, counts, failures, google_sign_in

GMAIL = "ada@gmail.com"


def membership(org, role: str) -> dict:
    return {"id": str(org.id), "name": org.name, "slug": org.slug, "role": role}


# --- an existing account at the same address --------------------------------------------------------


@pytest.mark.django_db
def test_a_verified_gmail_account_is_linked(api_client, google):
    ada = make_user(email=GMAIL, email_verified=True)

    response = google_sign_in(api_client, google.id_token())

    assert response.status_code == HTTPStatus.OK
    assert response.json()["user"]["id"] == str(ada.id)
    assert User.objects.count() == 1
    identity = SocialIdentity.objects.get()
    assert (identity.user_id, identity.subject, identity.email) == (ada.id, "google-sub-ada", GMAIL)
    assert only(E.IDENTITY_LINKED).subject_user_id == ada.id
    assert events(type=E.USER_REGISTERED) == []
    assert events(type=E.USER_EMAIL_VERIFIED) == []  # it was verified already
    assert login(api_client, GMAIL).status_code == HTTPStatus.OK  # the password still works


@pytest.mark.django_db
def test_the_address_matches_case_insensitively(api_client, google):
    ada = make_user(email=GMAIL, email_verified=True)

    response = google_sign_in(api_client, google.id_token(email="Ada@GMail.com"))

    assert response.status_code == HTTPStatus.OK
    assert response.json()["user"]["id"] == str(ada.id)
    assert SocialIdentity.objects.get().email == GMAIL


@pytest.mark.django_db(transaction=True)
def test_a_non_authoritative_address_is_not_merged(api_client, google, user):
    """ada@example.com is a Google account with an outside address: Google does not own example.com."""
    before = User.objects.values().get(pk=user.pk)
    sessions_before = Session.objects.count()

    response = google_sign_in(api_client, google.id_token(email="ada@example.com"))

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["code"] == "account_exists"
    assert SocialIdentity.objects.count() == 0
    assert User.objects.values().get(pk=user.pk) == before
    assert Session.objects.count() == sessions_before
    assert failures() == [{"method": "google", "reason": "not_authoritative"}]
    assert login(api_client, "ada@example.com").status_code == HTTPStatus.OK


@pytest.mark.django_db(transaction=True)
def test_a_verified_non_authoritative_account_is_not_merged_either(api_client, google):
    ada = make_user(email="ada@example.com", email_verified=True)

    response = google_sign_in(api_client, google.id_token(email="ada@example.com"))

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["code"] == "account_exists"
    assert SocialIdentity.objects.count() == 0
    assert User.objects.get(pk=ada.pk).has_usable_password()


@pytest.mark.django_db
def test_a_workspace_address_with_hd_is_linked(api_client, google):
    ada = make_user(email="ada@acme.test", email_verified=True)

    response = google_sign_in(api_client, google.id_token(email="ada@acme.test", hd="acme.test"))

    assert response.status_code == HTTPStatus.OK
    assert response.json()["user"]["id"] == str(ada.id)
    assert SocialIdentity.objects.get().user_id == ada.id


@pytest.mark.django_db
def test_an_unverified_account_at_an_authoritative_address_is_claimed(api_client, google):
    """Someone registered ada@gmail.com with a password without owning it: Google's word ends that."""
    squatter = make_user(email=GMAIL)
    assert squatter.email_verified is False
    old = login(api_client, GMAIL).json()
    assert api_client.get(ME, **bearer(old["access"])).status_code == HTTPStatus.OK

    response = google_sign_in(api_client, google.id_token())

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["user"]["id"] == str(squatter.id)
    assert body["user"]["email_verified"] is True
    claimed = User.objects.get(pk=squatter.pk)
    assert claimed.email_verified is True
    assert not claimed.has_usable_password()
    assert api_client.get(ME, **bearer(old["access"])).status_code == HTTPStatus.UNAUTHORIZED
    assert login(api_client, GMAIL).status_code == HTTPStatus.UNAUTHORIZED
    assert login(api_client, GMAIL, DEFAULT_PASSWORD).status_code == HTTPStatus.UNAUTHORIZED
    alive = Session.objects.filter(user=claimed).alive()
    assert [str(session.id) for session in alive] == [claims(body["access"])["sid"]]
    assert api_client.get(ME, **bearer(body["access"])).status_code == HTTPStatus.OK
    assert only(E.USER_EMAIL_VERIFIED).details == {"via": "google", "claimed": True}
    assert SocialIdentity.objects.get().user_id == squatter.id


@pytest.mark.django_db
def test_an_unverified_workspace_account_is_claimed_too(api_client, google):
    squatter = make_user(email="ada@acme.test")

    response = google_sign_in(api_client, google.id_token(email="ada@acme.test", hd="acme.test"))

    assert response.status_code == HTTPStatus.OK
    claimed = User.objects.get(pk=squatter.pk)
    assert (claimed.email_verified, claimed.has_usable_password()) == (True, False)


@pytest.mark.django_db(transaction=True)
def test_an_unverified_non_authoritative_account_is_neither_merged_nor_claimed(api_client, google, user):
    old = login(api_client, "ada@example.com").json()

    response = google_sign_in(api_client, google.id_token(email="ada@example.com"))

    assert response.status_code == HTTPStatus.CONFLICT
    unchanged = User.objects.get(pk=user.pk)
    assert (unchanged.email_verified, unchanged.has_usable_password()) == (False, True)
    assert api_client.get(ME, **bearer(old["access"])).status_code == HTTPStatus.OK


# --- the same sub -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_same_sub_with_a_new_email_is_the_same_user(api_client, google):
    first = google_sign_in(api_client, google.id_token()).json()

    response = google_sign_in(api_client, google.id_token(email="lovelace@gmail.com"))

    assert response.status_code == HTTPStatus.OK
    assert response.json()["user"]["id"] == first["user"]["id"]
    assert response.json()["user"]["email"] == GMAIL
    assert User.objects.count() == 1
    assert User.objects.get().email == GMAIL
    identity = SocialIdentity.objects.get()
    assert (identity.subject, identity.email) == ("google-sub-ada", GMAIL)  # the address at link time


@pytest.mark.django_db
def test_the_same_sub_wins_over_another_account_at_the_new_address(api_client, google):
    first = google_sign_in(api_client, google.id_token()).json()
    other = make_user(email="lovelace@gmail.com", email_verified=True)

    response = google_sign_in(api_client, google.id_token(email="lovelace@gmail.com"))

    assert response.json()["user"]["id"] == first["user"]["id"]
    assert not SocialIdentity.objects.filter(user=other).exists()


@pytest.mark.django_db(transaction=True)
def test_another_sub_at_a_linked_address_is_refused(api_client, google):
    """A new ``sub`` for an address already linked means the provider gave the address to someone else
    (a Workspace user deleted and re-created, a lapsed domain bought back): no silent takeover."""
    first = google_sign_in(api_client, google.id_token()).json()

    response = google_sign_in(api_client, google.id_token(sub="google-sub-ada-2"))

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["code"] == "account_exists"
    assert [
        (subject, str(user_id))
        for subject, user_id in SocialIdentity.objects.values_list("subject", "user_id")
    ] == [("google-sub-ada", first["user"]["id"])]
    assert failures() == [{"method": "google", "reason": "subject_changed"}]


@pytest.mark.django_db
def test_sign_in_updates_last_used_at(api_client, google):
    google_sign_in(api_client, google.id_token())
    identity = SocialIdentity.objects.get()

    google_sign_in(api_client, google.id_token())

    assert SocialIdentity.objects.get().last_used_at > identity.last_used_at


# --- refusals by account state -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_inactive_linked_user_is_refused(api_client, google):
    google_sign_in(api_client, google.id_token())
    User.objects.update(is_active=False)
    sessions_before = Session.objects.count()
    last_used_at = SocialIdentity.objects.get().last_used_at

    response = google_sign_in(api_client, google.id_token())

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "account_disabled"
    assert Session.objects.count() == sessions_before
    assert SocialIdentity.objects.get().last_used_at == last_used_at  # rolled back with the refusal
    assert failures() == [{"method": "google", "reason": "inactive_user"}]


@pytest.mark.django_db(transaction=True)
def test_an_inactive_unlinked_user_is_refused_and_not_linked(api_client, google):
    make_user(email=GMAIL, email_verified=True, is_active=False)

    response = google_sign_in(api_client, google.id_token())

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "account_disabled"
    assert counts() == (1, 0, 0)
    assert failures() == [{"method": "google", "reason": "inactive_user"}]


@pytest.mark.django_db(transaction=True)
def test_signup_disabled_refuses_an_unknown_address(api_client, google, settings):
    settings.AUTH_ALLOW_SIGNUP = False

    response = google_sign_in(api_client, google.id_token())

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "signup_disabled"
    assert counts() == (0, 0, 0)
    assert events(type=E.USER_REGISTERED) == []
    assert failures() == [{"method": "google", "reason": "signup_disabled"}]


@pytest.mark.django_db
def test_signup_disabled_still_signs_in_an_existing_account(api_client, google, settings):
    ada = make_user(email=GMAIL, email_verified=True)
    settings.AUTH_ALLOW_SIGNUP = False

    response = google_sign_in(api_client, google.id_token())

    assert response.status_code == HTTPStatus.OK
    assert response.json()["user"]["id"] == str(ada.id)


# --- the token pair's org (API.md) ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_user_with_one_org_gets_it_in_the_pair(api_client, google):
    ada = make_user(email=GMAIL, email_verified=True)
    org = make_org(name="Acme", owner=ada)

    response = google_sign_in(api_client, google.id_token())

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["org"] == membership(org, "owner")
    assert body["organizations"] == [membership(org, "owner")]
    with cross_tenant():
        profile = Membership.objects.get(user=ada, org=org)
    for token in (body["access"], body["refresh"]):
        assert (claims(token)["org_id"], claims(token)["profile_id"]) == (str(org.id), str(profile.id))


@pytest.mark.django_db
def test_a_user_with_several_orgs_gets_no_org(api_client, google, other_org):
    ada = make_user(email=GMAIL, email_verified=True)
    org = make_org(name="Acme", owner=ada)
    add_member(org=other_org, user=ada, role=MembershipRole.MEMBER)

    response = google_sign_in(api_client, google.id_token())

    body = response.json()
    assert body["org"] is None
    assert body["organizations"] == [membership(org, "owner"), membership(other_org, "member")]
    access = claims(body["access"])
    assert (access["org_id"], access["profile_id"]) == (None, None)


# --- an account registered by another route while this first sign-in runs ---------------------------


@pytest.fixture
def registered_meanwhile(monkeypatch):
    """``registered_meanwhile(email)``: that account exists, but the sign-in's first lookup by address
    misses it, as when another route's registration commits between that lookup and the insert (which
    then fails on the unique address)."""

    def arrange(email: str) -> User:
        squatter = make_user(email=email)
        original = User.objects.filter
        missed = []

        def filter_(*args, **kwargs):
            if kwargs.get("email") == email and not missed:
                missed.append(email)
                return User.objects.none()
            return original(*args, **kwargs)

        monkeypatch.setattr(User.objects, "filter", filter_)
        return squatter

    return arrange


@pytest.mark.django_db(transaction=True)
def test_an_account_registered_meanwhile_at_a_non_authoritative_address_is_not_merged(
    api_client, google, registered_meanwhile
):
    squatter = registered_meanwhile("ada@example.com")

    response = google_sign_in(api_client, google.id_token(email="ada@example.com"))

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["code"] == "account_exists"
    assert SocialIdentity.objects.count() == 0
    unchanged = User.objects.get(pk=squatter.pk)
    assert (unchanged.email_verified, unchanged.has_usable_password()) == (False, True)
    assert failures() == [{"method": "google", "reason": "not_authoritative"}]


@pytest.mark.django_db
def test_an_account_registered_meanwhile_at_an_authoritative_address_is_claimed(
    api_client, google, registered_meanwhile
):
    squatter = registered_meanwhile(GMAIL)

    response = google_sign_in(api_client, google.id_token())

    assert response.status_code == HTTPStatus.OK
    assert response.json()["user"]["id"] == str(squatter.id)
    claimed = User.objects.get(pk=squatter.pk)
    assert (claimed.email_verified, claimed.has_usable_password()) == (True, False)
    assert SocialIdentity.objects.get().user_id == squatter.id


@pytest.mark.django_db
def test_a_google_claim_removes_what_the_squatter_set_up_but_keeps_the_proving_identity(api_client, google):
    """Second security review, item 1: passkeys, other identities and TOTP planted on the unverified account
    go with the password; the Google identity that proves the address is what remains."""
    from tests.magiclinks.test_account_claim import nothing_planted_is_left, plant

    squatter = make_user(email=GMAIL)
    plant(squatter)

    response = google_sign_in(api_client, google.id_token())

    assert response.status_code == HTTPStatus.OK
    assert "access" in response.json()  # no MFA step: the squatter's TOTP is gone
    nothing_planted_is_left(squatter)
    assert [(row.provider, row.user_id) for row in SocialIdentity.objects.all()] == [("google", squatter.id)]
    assert only(E.USER_ACCOUNT_CLAIMED).details == {
        "via": "google",
        "removed": ["password", "passkeys", "identities", "mfa"],
    }
