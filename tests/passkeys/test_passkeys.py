"""Passkeys end to end in process, with assertions made by a software authenticator (SoftAuthenticator):
both ceremonies, every refusal (401/400 ``passkey_invalid``, nothing written but the audit event), the
two sign-in flows, MFA and an org's ``require_mfa``, the last-method rule."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.utils import timezone

from accounts.models import Session, User
from passkeys.models import Passkey, PasskeyChallenge
from social.models import SocialIdentity
from tenants.audit import AuditEventType as E
from tenants.models import Organization
from tests.api import AUTH, bearer, claims, login
from tests.audit.helpers import events, only
from tests.factories import add_member, make_user
from tests.passkeys.authenticator import SoftAuthenticator

pytestmark = pytest.mark.django_db(transaction=True)  # sign-in refusals are audited in their own transaction

PASSKEYS = f"{AUTH}/passkeys/"
REGISTER_OPTIONS = f"{AUTH}/passkeys/register/options/"
REGISTER = f"{AUTH}/passkeys/register/"
LOGIN_OPTIONS = f"{AUTH}/passkeys/login/options/"
LOGIN = f"{AUTH}/passkeys/login/"


@pytest.fixture
def access(api_client, user, org) -> str:
    User.objects.filter(pk=user.pk).update(email_verified=True)  # registering a passkey needs it
    response = login(api_client, "ada@example.com", "correct horse battery staple")
    assert response.status_code == HTTPStatus.OK, response.json()
    return response.json()["access"]


def register(client, access: str, authenticator: SoftAuthenticator, name: str = "Laptop", **bend):
    options = client.post(REGISTER_OPTIONS, format="json", **bearer(access))
    assert options.status_code == HTTPStatus.OK, options.json()
    credential = authenticator.register(options.json(), **bend)
    return client.post(REGISTER, {"credential": credential, "name": name}, format="json", **bearer(access))


@pytest.fixture
def passkey(api_client, access) -> SoftAuthenticator:
    authenticator = SoftAuthenticator()
    assert register(api_client, access, authenticator).status_code == HTTPStatus.CREATED
    return authenticator


def sign_in(client, authenticator: SoftAuthenticator, email: str | None = None, **bend):
    options = client.post(LOGIN_OPTIONS, {"email": email} if email else {}, format="json").json()
    credential = authenticator.sign_in(options, **bend)
    return client.post(
        LOGIN, {"challenge_id": options["challenge_id"], "credential": credential}, format="json"
    )


def stored(user: User) -> list[tuple[int, object]]:
    """(sign_count, last_used_at) of the user's passkeys."""
    return list(Passkey.objects.filter(user=user).values_list("sign_count", "last_used_at"))


# --- Registration --------------------------------------------------------------------------------------


def test_registration_stores_the_credential(api_client, user, access):
    options = api_client.post(REGISTER_OPTIONS, format="json", **bearer(access)).json()
    assert options["rp"] == {"id": "localhost", "name": "authsvc"}
    assert options["authenticatorSelection"] == {
        "residentKey": "preferred",
        "requireResidentKey": False,
        "userVerification": "required",
    }
    assert options["user"]["name"] == "ada@example.com"
    authenticator = SoftAuthenticator()
    response = api_client.post(
        REGISTER,
        {"credential": authenticator.register(options), "name": "Laptop"},
        format="json",
        **bearer(access),
    )

    assert response.status_code == HTTPStatus.CREATED, response.json()
    assert {"id", "name", "created_at"} <= set(response.json())
    row = Passkey.objects.get(user=user)
    assert (bytes(row.credential_id), row.name, row.device_type, row.transports) == (
        authenticator.credential_id,
        "Laptop",
        "multi_device",
        ["internal", "hybrid"],
    )
    assert only(E.PASSKEY_REGISTERED).subject_id == str(row.pk)
    assert not PasskeyChallenge.objects.exists()  # spent
    again = api_client.post(REGISTER_OPTIONS, format="json", **bearer(access)).json()
    assert [entry["id"] for entry in again["excludeCredentials"]] == [authenticator.id]  # no second copy


@pytest.mark.parametrize(
    ("bend", "reason"),
    [
        ({"origin": "https://evil.example"}, "wrong_origin"),
        ({"rp_id": "evil.example"}, "wrong_rp_id"),
        ({"verified": False}, "user_not_verified"),
        ({"framed": True}, "cross_origin"),
    ],
)
def test_a_registration_that_fails_a_check_is_refused(api_client, user, access, bend, reason):
    response = register(api_client, access, SoftAuthenticator(), **bend)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "passkey_invalid"
    assert not Passkey.objects.exists()
    assert only(E.PASSKEY_REFUSED).details == {"ceremony": "register", "reason": reason}


def test_registration_needs_options_of_this_session(api_client, user, access):
    options = api_client.post(REGISTER_OPTIONS, format="json", **bearer(access)).json()
    other = login(api_client, "ada@example.com", "correct horse battery staple").json()["access"]
    credential = SoftAuthenticator().register(options)

    response = api_client.post(REGISTER, {"credential": credential}, format="json", **bearer(other))

    assert (response.status_code, response.json()["code"]) == (HTTPStatus.BAD_REQUEST, "passkey_invalid")
    assert only(E.PASSKEY_REFUSED).details["reason"] == "no_challenge"


def test_registration_options_need_a_recent_sign_in(api_client, user, access):
    Session.objects.filter(user=user).update(authenticated_at=timezone.now() - timedelta(hours=1))

    response = api_client.post(REGISTER_OPTIONS, format="json", **bearer(access))

    assert (response.status_code, response.json()["code"]) == (
        HTTPStatus.FORBIDDEN,
        "reauthentication_required",
    )


def test_a_credential_is_registered_once(api_client, user, access, passkey):
    response = register(api_client, access, passkey)

    assert (response.status_code, response.json()["code"]) == (HTTPStatus.BAD_REQUEST, "passkey_invalid")
    assert Passkey.objects.count() == 1


# --- Sign-in -------------------------------------------------------------------------------------------


def test_a_discoverable_passkey_signs_in(api_client, user, passkey):
    options = api_client.post(LOGIN_OPTIONS, {}, format="json").json()
    assert options["allowCredentials"] == [] and options["userVerification"] == "required"
    assert options["rpId"] == "localhost"
    credential = passkey.sign_in(options)

    response = api_client.post(
        LOGIN, {"challenge_id": options["challenge_id"], "credential": credential}, format="json"
    )

    assert response.status_code == HTTPStatus.OK, response.json()
    body = response.json()
    assert body["user"]["email"] == "ada@example.com" and body["org"]["name"] == "Acme"
    assert claims(body["access"])["amr"] == ["swk"]  # a synced passkey: a software-secured key
    assert api_client.get(f"{AUTH}/me/", **bearer(body["access"])).status_code == HTTPStatus.OK
    ((_, last_used),) = stored(user)
    assert last_used is not None
    assert only(E.PASSKEY_USED).details["name"] == "Laptop"
    assert only(E.SIGN_IN_SUCCEEDED, details__method="passkey").details["amr"] == ["swk"]


def test_the_allow_list_flow_names_the_accounts_passkeys(api_client, user, passkey):
    options = api_client.post(LOGIN_OPTIONS, {"email": "ADA@example.com"}, format="json").json()
    assert passkey.id in [entry["id"] for entry in options["allowCredentials"]]  # among stand-ins

    response = api_client.post(
        LOGIN,
        {"challenge_id": options["challenge_id"], "credential": passkey.sign_in(options)},
        format="json",
    )

    assert response.status_code == HTTPStatus.OK


def test_an_allow_list_does_not_tell_whether_the_address_has_passkeys(api_client, user, passkey):
    """Real ids padded with stand-ins derived from the address (1-3 entries, no transports), the same
    every time: an account with a passkey, one without, and no account answer in one shape."""

    def allowed(email: str) -> list[dict]:
        return api_client.post(LOGIN_OPTIONS, {"email": email}, format="json").json()["allowCredentials"]

    for email in ("ada@example.com", "nobody@example.com", "other@example.com", "x@example.org"):
        entries = allowed(email)
        assert 1 <= len(entries) <= 3 and all(set(entry) == {"id", "type"} for entry in entries), entries
        assert allowed(email) == entries  # stable: asking twice tells nothing either
    assert passkey.id in [entry["id"] for entry in allowed("ada@example.com")]
    assert allowed("nobody@example.com") != allowed("other@example.com")


def test_a_security_key_counts_and_signs_in_as_hardware(api_client, user, access):
    key = SoftAuthenticator(synced=False)
    assert register(api_client, access, key).status_code == HTTPStatus.CREATED

    response = sign_in(api_client, key)

    assert response.status_code == HTTPStatus.OK
    assert claims(response.json()["access"])["amr"] == ["hwk"]
    assert stored(user)[0][0] == 2  # the counter moved forward


@pytest.mark.parametrize(
    ("bend", "reason"),
    [
        ({"origin": "https://evil.example"}, "wrong_origin"),
        ({"rp_id": "evil.example"}, "wrong_rp_id"),
        ({"verified": False}, "user_not_verified"),
        ({"framed": True}, "cross_origin"),
    ],
)
def test_an_assertion_that_fails_a_check_is_refused_and_nothing_is_written(
    api_client, user, passkey, bend, reason
):
    sessions_before, passkeys_before = Session.objects.count(), stored(user)

    response = sign_in(api_client, passkey, **bend)

    assert (response.status_code, response.json()["code"]) == (HTTPStatus.UNAUTHORIZED, "passkey_invalid")
    assert (Session.objects.count(), stored(user)) == (sessions_before, passkeys_before)
    assert only(E.PASSKEY_REFUSED).details == {"ceremony": "login", "reason": reason}
    assert events(type=E.PASSKEY_USED) == []


def test_a_challenge_answers_once(api_client, user, passkey):
    options = api_client.post(LOGIN_OPTIONS, {}, format="json").json()
    body = {"challenge_id": options["challenge_id"], "credential": passkey.sign_in(options)}
    assert api_client.post(LOGIN, body, format="json").status_code == HTTPStatus.OK
    sessions = Session.objects.count()

    replayed = api_client.post(LOGIN, body, format="json")

    assert (replayed.status_code, replayed.json()["code"]) == (HTTPStatus.UNAUTHORIZED, "passkey_invalid")
    assert Session.objects.count() == sessions
    assert only(E.PASSKEY_REFUSED).details["reason"] == "unknown_challenge"


def test_an_expired_challenge_is_refused(api_client, user, passkey):
    options = api_client.post(LOGIN_OPTIONS, {}, format="json").json()
    PasskeyChallenge.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = api_client.post(
        LOGIN,
        {"challenge_id": options["challenge_id"], "credential": passkey.sign_in(options)},
        format="json",
    )

    assert (response.status_code, response.json()["code"]) == (HTTPStatus.UNAUTHORIZED, "passkey_invalid")
    assert only(E.PASSKEY_REFUSED).details["reason"] == "expired_challenge"
    assert not Session.objects.filter(user=user, amr__contains=["swk"]).exists()


def test_an_unknown_credential_is_refused(api_client, user, passkey):
    stranger = SoftAuthenticator()
    stranger.user_handle = passkey.user_handle

    response = sign_in(api_client, stranger)

    assert (response.status_code, response.json()["code"]) == (HTTPStatus.UNAUTHORIZED, "passkey_invalid")
    assert only(E.PASSKEY_REFUSED).details["reason"] == "unknown_credential"


def test_a_counter_that_goes_backwards_is_refused(api_client, user, access):
    key = SoftAuthenticator(synced=False)
    register(api_client, access, key)
    assert sign_in(api_client, key, sign_count=5).status_code == HTTPStatus.OK
    sessions = Session.objects.count()

    cloned = sign_in(api_client, key, sign_count=3)  # a cloned authenticator, behind the real one

    assert (cloned.status_code, cloned.json()["code"]) == (HTTPStatus.UNAUTHORIZED, "passkey_invalid")
    assert stored(user)[0][0] == 5 and Session.objects.count() == sessions
    assert only(E.PASSKEY_REFUSED).details["reason"] == "sign_count_regression"


def test_a_malformed_credential_is_refused_not_a_500(api_client, user, passkey):
    options = api_client.post(LOGIN_OPTIONS, {}, format="json").json()
    credential = passkey.sign_in(options)
    credential["response"]["authenticatorData"] = "!!not base64!!"

    response = api_client.post(
        LOGIN, {"challenge_id": options["challenge_id"], "credential": credential}, format="json"
    )

    assert (response.status_code, response.json()["code"]) == (HTTPStatus.UNAUTHORIZED, "passkey_invalid")


def test_a_passkey_skips_the_totp_step(api_client, user, passkey):
    User.objects.filter(pk=user.pk).update(mfa_enabled=True)
    assert "mfa_required" in login(api_client, "ada@example.com", "correct horse battery staple").json()

    response = sign_in(api_client, passkey)

    assert response.status_code == HTTPStatus.OK and "access" in response.json()


def test_a_passkey_sign_in_satisfies_an_orgs_require_mfa(api_client, user, org):
    bob = make_user(email="bob@example.com", password="correct horse battery staple", email_verified=True)
    add_member(org=org, user=bob)
    Organization.objects.filter(pk=org.pk).update(require_mfa=True)
    by_password = login(api_client, "bob@example.com", "correct horse battery staple").json()["access"]
    assert (
        api_client.get(f"{AUTH}/org/members/", **bearer(by_password)).json()["code"]
        == "mfa_enrolment_required"
    )
    key = SoftAuthenticator()
    assert register(api_client, by_password, key).status_code == HTTPStatus.CREATED

    by_passkey = sign_in(api_client, key).json()["access"]

    assert api_client.get(f"{AUTH}/org/members/", **bearer(by_passkey)).status_code == HTTPStatus.OK


# --- Management --------------------------------------------------------------------------------------


def test_list_rename_and_delete(api_client, user, access, passkey):
    (listed,) = api_client.get(PASSKEYS, **bearer(access)).json()
    assert set(listed) == {"id", "name", "created_at", "last_used_at"}

    renamed = api_client.patch(
        f"{PASSKEYS}{listed['id']}/", {"name": "Phone"}, format="json", **bearer(access)
    )
    assert (renamed.status_code, renamed.json()["name"]) == (HTTPStatus.OK, "Phone")
    assert (
        api_client.delete(f"{PASSKEYS}{listed['id']}/", **bearer(access)).status_code == HTTPStatus.NO_CONTENT
    )
    assert not Passkey.objects.exists()
    assert [event.type for event in events(type__startswith="passkey.")] == [
        E.PASSKEY_REGISTERED,
        E.PASSKEY_RENAMED,
        E.PASSKEY_DELETED,
    ]


def test_deleting_a_passkey_needs_a_recent_sign_in(api_client, user, access, passkey):
    """Second security review, item 12: an old session (a stolen token) can't remove the owner's passkey."""
    from tests.mfa.helpers import REAUTHENTICATION_REQUIRED, sign_in_long_ago

    passkey_id = Passkey.objects.get(user=user).pk
    sign_in_long_ago(access)

    response = api_client.delete(f"{PASSKEYS}{passkey_id}/", **bearer(access))

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == REAUTHENTICATION_REQUIRED
    assert Passkey.objects.filter(pk=passkey_id).exists()


def test_another_users_passkey_is_not_found(api_client, user, access, passkey):
    other = make_user(email="eve@example.com", password="correct horse battery staple")
    theirs = Passkey.objects.create(
        user=other, credential_id=b"x", public_key=b"y", device_type="single_device", name="Eve's"
    )

    assert (
        api_client.patch(
            f"{PASSKEYS}{theirs.pk}/", {"name": "mine"}, format="json", **bearer(access)
        ).status_code
        == 404
    )
    assert api_client.delete(f"{PASSKEYS}{theirs.pk}/", **bearer(access)).status_code == 404
    assert Passkey.objects.get(pk=theirs.pk).name == "Eve's"


def test_the_last_sign_in_method_stays(api_client, user, access, passkey):
    second = SoftAuthenticator()
    register(api_client, access, second, name="Phone")
    user.set_unusable_password()
    user.save(update_fields=["password"])
    access = sign_in(api_client, passkey).json()["access"]  # the password change ended the old sessions
    first, last = api_client.get(PASSKEYS, **bearer(access)).json()

    assert (
        api_client.delete(f"{PASSKEYS}{first['id']}/", **bearer(access)).status_code == HTTPStatus.NO_CONTENT
    )
    refused = api_client.delete(f"{PASSKEYS}{last['id']}/", **bearer(access))

    assert (refused.status_code, refused.json()["code"]) == (HTTPStatus.CONFLICT, "last_sign_in_method")
    assert Passkey.objects.filter(user=user).count() == 1


def test_a_passkey_counts_as_a_way_to_sign_in_when_unlinking_an_identity(api_client, user, access, passkey):
    identity = SocialIdentity.objects.create(
        user=user, provider="google", subject="g-1", email="ada@gmail.com"
    )
    user.set_unusable_password()
    user.save(update_fields=["password"])
    access = sign_in(api_client, passkey).json()["access"]

    response = api_client.delete(f"{AUTH}/me/identities/{identity.pk}/", **bearer(access))

    assert response.status_code == HTTPStatus.NO_CONTENT


def test_an_assertion_naming_another_user_is_refused(api_client, user, passkey):
    passkey.user_handle = "AAAAAAAAAAAAAAAAAAAAAA"  # another account's handle, this account's credential

    response = sign_in(api_client, passkey)

    assert (response.status_code, response.json()["code"]) == (HTTPStatus.UNAUTHORIZED, "passkey_invalid")
    assert only(E.PASSKEY_REFUSED).details["reason"] == "user_handle_mismatch"


def test_a_registration_challenge_does_not_sign_in(api_client, user, access, passkey):
    options = api_client.post(REGISTER_OPTIONS, format="json", **bearer(access)).json()
    registration = PasskeyChallenge.objects.get()

    response = api_client.post(
        LOGIN,
        {
            "challenge_id": str(registration.pk),
            "credential": passkey.sign_in({**options, "rpId": "localhost"}),
        },
        format="json",
    )

    assert (response.status_code, response.json()["code"]) == (HTTPStatus.UNAUTHORIZED, "passkey_invalid")
    assert only(E.PASSKEY_REFUSED).details["reason"] == "unknown_challenge"
    assert PasskeyChallenge.objects.filter(pk=registration.pk).exists()  # still the session's to use


def test_a_refused_registration_may_try_again_with_its_options(api_client, user, access):
    """A registration's challenge belongs to the signed-in session and stays until it is used well or
    expires (the refusal rolls back); a sign-in's is spent by any attempt."""
    options = api_client.post(REGISTER_OPTIONS, format="json", **bearer(access)).json()
    authenticator = SoftAuthenticator()
    bad = authenticator.register(options, origin="https://evil.example")
    assert api_client.post(REGISTER, {"credential": bad}, format="json", **bearer(access)).status_code == 400

    good = api_client.post(
        REGISTER, {"credential": authenticator.register(options)}, format="json", **bearer(access)
    )

    assert good.status_code == HTTPStatus.CREATED
    assert not PasskeyChallenge.objects.exists()
