"""Magic-link sign-in (API.md ``magic-link/request/``, ``magic-link/verify/``, "Links in emails").

The request answers the same whatever the address; the mail carries a link under
``FRONTEND_URL/auth/magic/`` (or the allowed ``redirect_url``) and a 6-digit code; either signs in once.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Session, User
from core.secrets import secret_digest
from magiclinks.models import EmailToken, LinkPurpose
from magiclinks.services import link_build
from tenants.audit import AuditEventType as E
from tests.api import bearer, claims
from tests.audit.helpers import assert_no_secret_stored, events, only
from tests.factories import make_user
from tests.magiclinks.backends import FailingEmailBackend
from tests.magiclinks.helpers import (
    MAGIC_REQUEST,
    MAGIC_VERIFY,
    ME,
    PASSWORD_FORGOT,
    RESET_LINK_SENT,
    SIGN_IN_LINK_SENT,
    assert_token_invalid,
    code_in,
    link_in,
    magic_prefix,
    only_mail,
    post,
    request_magic_link,
    token_in,
)

ADA = "ada@example.com"


def sign_in_rows(email: str = ADA) -> list[EmailToken]:
    return list(EmailToken.objects.filter(purpose=LinkPurpose.SIGN_IN, email=email))


def verify(client, **body):
    return post(client, MAGIC_VERIFY, body)


# --- Request: the same answer whatever the address ----------------------------------------------------


@pytest.mark.django_db
def test_known_unknown_and_inactive_addresses_get_the_same_answer(
    api_client, settings, user, org, mailoutbox
):
    settings.AUTH_ALLOW_SIGNUP = False
    make_user(email="gone@example.com", is_active=False)

    responses = {
        email: post(api_client, MAGIC_REQUEST, {"email": email})
        for email in (ADA, "nobody@example.com", "gone@example.com")
    }

    assert {email: r.status_code for email, r in responses.items()} == dict.fromkeys(
        responses, HTTPStatus.ACCEPTED
    )
    assert {r.content for r in responses.values()} == {responses[ADA].content}
    assert responses[ADA].json() == SIGN_IN_LINK_SENT
    assert [m.to for m in mailoutbox] == [[ADA]]  # only the account that may sign in got a mail
    assert [row.email for row in EmailToken.objects.all()] == [ADA]


@pytest.mark.django_db
def test_unknown_address_gets_the_same_answer_with_sign_up_allowed(api_client, user, org):
    known = post(api_client, MAGIC_REQUEST, {"email": ADA})
    unknown = post(api_client, MAGIC_REQUEST, {"email": "newcomer@example.com"})

    assert known.status_code == unknown.status_code == HTTPStatus.ACCEPTED
    assert known.content == unknown.content


@pytest.mark.django_db
@pytest.mark.parametrize("email", ["not-an-email", "ada@", "@example.com", "", "ada example.com"])
def test_malformed_email_is_400_on_email(api_client, mailoutbox, email):
    response = post(api_client, MAGIC_REQUEST, {"email": email})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "email" in response.json()
    assert mailoutbox == []


@pytest.mark.django_db
def test_missing_email_is_400(api_client):
    response = post(api_client, MAGIC_REQUEST, {})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "email" in response.json()


# --- Request: redirect_url ------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "redirect_url",
    [
        "https://evil.example/auth/magic",
        "http://localhost:3000.evil.com/x",
        "http://user@localhost:3000/",
        "http://user:pw@localhost:3000/x",
        "javascript:alert(1)",
        "http://localhost:3000/x#fragment",
        "http://localhost:3001/x",
        "https://localhost:3000/x",  # another scheme is another origin
        "//localhost:3000/x",
        "/auth/magic",
        "http://localhost:3000\\@evil.example/x",
        "http://evil.example/?http://localhost:3000/",
    ],
)
def test_redirect_url_not_under_frontend_url_is_refused(api_client, user, mailoutbox, redirect_url):
    response = post(api_client, MAGIC_REQUEST, {"email": ADA, "redirect_url": redirect_url})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(response.json()) == ["redirect_url"]
    assert mailoutbox == []
    assert sign_in_rows() == []


@pytest.mark.django_db
def test_redirect_url_under_frontend_url_carries_the_token_in_its_query(api_client, user, org, mailoutbox):
    redirect_url = "http://localhost:3000/after-sign-in"

    response = post(api_client, MAGIC_REQUEST, {"email": ADA, "redirect_url": redirect_url})

    assert response.status_code == HTTPStatus.ACCEPTED
    link = link_in(only_mail(mailoutbox, ADA))
    token = link.removeprefix(f"{redirect_url}?token=")
    assert link.startswith(f"{redirect_url}?token=")
    assert len(token) == 43
    assert verify(api_client, token=token).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_redirect_url_keeps_its_own_query(api_client, user, org, mailoutbox):
    post(api_client, MAGIC_REQUEST, {"email": ADA, "redirect_url": "http://localhost:3000/cb?next=%2Fhome"})

    link = link_in(only_mail(mailoutbox, ADA))

    assert link.startswith("http://localhost:3000/cb?next=%2Fhome&token=")


@pytest.mark.parametrize(
    "redirect_url",
    [
        "http://localhost:3000/cb?token=" + "p" * 43,
        "http://localhost:3000/cb?next=%2Fhome&token=x",
        "http://localhost:3000/auth/magic/" + "p" * 43,
        "http://localhost:3000/auth/magic/" + "%70" * 43,  # the same, percent-encoded
        "http://localhost:3000/cb?t=" + "p" * 43,
        "http://localhost:3000/app/../auth/x",
        "http://localhost:3000/app/%2e%2e/x",
    ],
)
@pytest.mark.django_db
def test_a_redirect_url_that_could_carry_a_planted_token_is_refused(
    api_client, user, org, mailoutbox, redirect_url
):
    """Login CSRF: a requester's own live token in redirect_url, riding along in the victim's mail, would
    sign the victim into the requester's account (the SPA reads the token from its path or query)."""
    response = post(api_client, MAGIC_REQUEST, {"email": ADA, "redirect_url": redirect_url})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert set(response.json()) == {"redirect_url"}
    assert mailoutbox == []


def test_link_build_keeps_the_redirect_urls_query_but_any_token_of_its_own():
    link = link_build("http://localhost:3000/cb?token=planted&next=%2Fhome", "ours", in_query=True)

    assert parse_qs(urlsplit(link).query) == {"next": ["/home"], "token": ["ours"]}


@pytest.mark.django_db
def test_redirect_url_on_an_allowed_origin_is_accepted(api_client, settings, user, org, mailoutbox):
    settings.AUTH_REDIRECT_ALLOWED_ORIGINS = ["https://app.example.com"]

    refused = post(
        api_client, MAGIC_REQUEST, {"email": ADA, "redirect_url": "https://app.example.com.evil.net/magic"}
    )
    accepted = post(
        api_client, MAGIC_REQUEST, {"email": ADA, "redirect_url": "https://app.example.com/magic"}
    )

    assert refused.status_code == HTTPStatus.BAD_REQUEST
    assert accepted.status_code == HTTPStatus.ACCEPTED
    assert link_in(only_mail(mailoutbox, ADA)).startswith("https://app.example.com/magic?token=")


# --- The email ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_mail_has_the_link_the_code_a_text_and_an_html_body(api_client, settings, user, org, mailoutbox):
    settings.AUTH_PRODUCT_NAME = "Acme Cloud"

    post(api_client, MAGIC_REQUEST, {"email": ADA})

    message = only_mail(mailoutbox, ADA)
    assert "Acme Cloud" in message.subject
    token = token_in(message, "http://localhost:3000/auth/magic/")
    code = code_in(message)
    assert len(code) == 6 and code.isdigit()
    assert message.content_subtype == "plain"
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert f"/auth/magic/{token}" in html
    assert code in html
    assert "Acme Cloud" in message.body


@pytest.mark.django_db
def test_the_mail_to_a_new_address_offers_to_create_the_account(api_client, mailoutbox):
    post(api_client, MAGIC_REQUEST, {"email": "newcomer@example.com"})

    message = only_mail(mailoutbox, "newcomer@example.com")
    assert message.subject == "Create your authsvc account"
    assert token_in(message, magic_prefix())


@pytest.mark.django_db
def test_the_address_is_normalized(api_client, user, org, mailoutbox):
    post(api_client, MAGIC_REQUEST, {"email": "  ADA@Example.COM "})

    assert only_mail(mailoutbox, ADA)
    assert len(sign_in_rows()) == 1


# --- Verify with the link's token -------------------------------------------------------------------


@pytest.mark.django_db
def test_verify_signs_in_and_verifies_the_address(api_client, user, org, mailoutbox):
    token, _ = request_magic_link(api_client, mailoutbox, ADA)

    response = verify(api_client, token=token)

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["user"]["email"] == ADA
    assert body["user"]["email_verified"] is True
    assert body["org"]["id"] == str(org.id)
    assert claims(body["access"])["amr"] == ["email"]
    user.refresh_from_db()
    assert user.email_verified is True
    assert api_client.get(ME, **bearer(body["access"])).json()["email_verified"] is True
    row = sign_in_rows()[0]
    assert row.ended_at is not None
    assert row.end_reason == "used"


@pytest.mark.django_db
def test_verify_records_sign_in_succeeded_with_method_magic_link_and_email_verified(
    api_client, user, org, mailoutbox
):
    token, _ = request_magic_link(api_client, mailoutbox, ADA)

    body = verify(api_client, token=token).json()

    event = only(E.SIGN_IN_SUCCEEDED)
    assert event.details == {"method": "magic_link", "amr": ["email"]}
    assert (event.actor_user_id, event.subject_user_id, event.org_id) == (user.id, user.id, org.id)
    assert event.subject_id == claims(body["access"])["sid"]
    # ada registered unverified: proving the address claims the account (see test_account_claim.py)
    assert only(E.USER_EMAIL_VERIFIED).details == {"via": "magic_link", "claimed": True}
    assert only(E.USER_EMAIL_VERIFIED).subject_user_id == user.id


@pytest.mark.django_db
def test_a_token_signs_in_once(api_client, user, org, mailoutbox):
    token, _ = request_magic_link(api_client, mailoutbox, ADA)
    assert verify(api_client, token=token).status_code == HTTPStatus.OK

    assert_token_invalid(verify(api_client, token=token))
    assert Session.objects.filter(user=user).count() == 1


@pytest.mark.django_db
def test_an_expired_token_is_invalid(api_client, user, org, mailoutbox):
    token, code = request_magic_link(api_client, mailoutbox, ADA)
    EmailToken.objects.filter(email=ADA).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert_token_invalid(verify(api_client, token=token))
    assert_token_invalid(verify(api_client, email=ADA, code=code))
    assert Session.objects.filter(user=user).count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["x" * 43, "not a token", "a" * 128])
def test_an_unknown_token_is_invalid(api_client, user, org, token):
    assert_token_invalid(verify(api_client, token=token))


@pytest.mark.django_db
def test_a_token_too_long_to_be_ours_is_400(api_client):
    response = verify(api_client, token="a" * 129)

    assert response.status_code == HTTPStatus.BAD_REQUEST


@pytest.mark.django_db
def test_a_user_deactivated_after_the_link_went_out_cannot_use_it(api_client, user, org, mailoutbox):
    token, _ = request_magic_link(api_client, mailoutbox, ADA)
    user.is_active = False
    user.save()

    assert_token_invalid(verify(api_client, token=token))
    assert Session.objects.filter(user=user).count() == 0


@pytest.mark.django_db
def test_a_link_to_an_address_the_account_no_longer_has_does_not_sign_in(api_client, user, org, mailoutbox):
    token, code = request_magic_link(api_client, mailoutbox, ADA)
    User.objects.filter(pk=user.pk).update(email="ada.new@example.com")  # e.g. an admin changed it

    assert_token_invalid(verify(api_client, email=ADA, code=code))
    assert_token_invalid(verify(api_client, token=token))
    assert Session.objects.filter(user=user).count() == 0
    assert User.objects.get(pk=user.pk).email_verified is False


@pytest.mark.django_db(transaction=True)
def test_concurrent_verifies_of_one_token_sign_in_exactly_once(api_client, user, org, mailoutbox):
    token, _ = request_magic_link(api_client, mailoutbox, ADA)
    racers = 5
    barrier = threading.Barrier(racers)

    def one_tab() -> int:
        try:
            client = APIClient()
            barrier.wait(timeout=30)
            return verify(client, token=token).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=racers) as pool:
        statuses = sorted(
            future.result(timeout=60) for future in [pool.submit(one_tab) for _ in range(racers)]
        )

    assert statuses == [HTTPStatus.OK] + [HTTPStatus.BAD_REQUEST] * (racers - 1)
    assert Session.objects.filter(user=user).count() == 1
    assert len(events(type=E.SIGN_IN_SUCCEEDED)) == 1


# --- No GET spends a token ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_get_and_head_of_the_verify_url_spend_nothing(api_client, user, org, mailoutbox):
    token, _ = request_magic_link(api_client, mailoutbox, ADA)

    fetched = [
        api_client.get(MAGIC_VERIFY, {"token": token}),
        api_client.head(MAGIC_VERIFY, {"token": token}),
        api_client.options(MAGIC_VERIFY),
    ]

    assert [r.status_code for r in fetched[:2]] == [HTTPStatus.METHOD_NOT_ALLOWED] * 2
    assert sign_in_rows()[0].ended_at is None
    assert Session.objects.filter(user=user).count() == 0
    assert verify(api_client, token=token).status_code == HTTPStatus.OK


# --- A newer link replaces the older -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_newer_link_kills_the_older(api_client, user, org, mailoutbox):
    old_token, old_code = request_magic_link(api_client, mailoutbox, ADA)
    new_token, _ = request_magic_link(api_client, mailoutbox, ADA)

    assert old_token != new_token
    assert len(sign_in_rows()) == 1
    assert_token_invalid(verify(api_client, token=old_token))
    assert_token_invalid(verify(api_client, email=ADA, code=old_code))
    assert verify(api_client, token=new_token).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_one_live_row_per_purpose_and_address(api_client, user, org, mailoutbox):
    for _ in range(3):
        request_magic_link(api_client, mailoutbox, ADA)
    token, _ = request_magic_link(api_client, mailoutbox, ADA)
    verify(api_client, token=token)
    request_magic_link(api_client, mailoutbox, ADA)

    live = EmailToken.objects.filter(purpose=LinkPurpose.SIGN_IN, email=ADA, ended_at__isnull=True)
    assert live.count() == 1
    assert EmailToken.objects.filter(purpose=LinkPurpose.SIGN_IN, email=ADA).count() == 2  # + the used one


# --- Sign-up through a magic link ------------------------------------------------------------------


@pytest.mark.django_db
def test_verify_creates_the_account_of_an_unknown_address(api_client, mailoutbox):
    token, _ = request_magic_link(api_client, mailoutbox, "newcomer@example.com")
    assert not User.objects.filter(email="newcomer@example.com").exists()

    response = verify(api_client, token=token)

    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    assert body["organizations"] == []
    assert body["org"] is None
    assert body["user"]["email"] == "newcomer@example.com"
    assert body["user"]["email_verified"] is True
    new_user = User.objects.get(email="newcomer@example.com")
    assert new_user.email_verified is True
    assert not new_user.has_usable_password()
    assert only(E.USER_REGISTERED).details == {"method": "magic_link"}
    assert only(E.SIGN_IN_SUCCEEDED).details["method"] == "magic_link"


@pytest.mark.django_db
def test_a_second_link_to_the_new_account_signs_in_with_200(api_client, mailoutbox):
    token, _ = request_magic_link(api_client, mailoutbox, "newcomer@example.com")
    assert verify(api_client, token=token).status_code == HTTPStatus.CREATED

    token, _ = request_magic_link(api_client, mailoutbox, "newcomer@example.com")

    assert verify(api_client, token=token).status_code == HTTPStatus.OK
    assert User.objects.filter(email="newcomer@example.com").count() == 1


@pytest.mark.django_db
def test_with_sign_up_off_no_mail_goes_to_an_unknown_address(api_client, settings, mailoutbox):
    settings.AUTH_ALLOW_SIGNUP = False

    response = post(api_client, MAGIC_REQUEST, {"email": "newcomer@example.com"})

    assert response.status_code == HTTPStatus.ACCEPTED
    assert response.json() == SIGN_IN_LINK_SENT
    assert mailoutbox == []
    assert EmailToken.objects.count() == 0


@pytest.mark.django_db
def test_a_link_to_a_new_address_dies_when_sign_up_is_switched_off(api_client, settings, mailoutbox):
    token, _ = request_magic_link(api_client, mailoutbox, "newcomer@example.com")
    settings.AUTH_ALLOW_SIGNUP = False

    assert_token_invalid(verify(api_client, token=token))
    assert not User.objects.filter(email="newcomer@example.com").exists()


# --- The code (another device) --------------------------------------------------------------------


@pytest.mark.django_db
def test_the_address_and_code_sign_in(api_client, user, org, mailoutbox):
    _, code = request_magic_link(api_client, mailoutbox, ADA)

    response = verify(api_client, email="Ada@Example.com", code=code)

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["user"]["email_verified"] is True
    assert claims(body["access"])["amr"] == ["email"]
    assert only(E.SIGN_IN_SUCCEEDED).details["method"] == "magic_link"
    assert sign_in_rows()[0].ended_at is not None


@pytest.mark.django_db
def test_the_code_spends_the_link_too(api_client, user, org, mailoutbox):
    token, code = request_magic_link(api_client, mailoutbox, ADA)
    assert verify(api_client, email=ADA, code=code).status_code == HTTPStatus.OK

    assert_token_invalid(verify(api_client, token=token))
    assert_token_invalid(verify(api_client, email=ADA, code=code))


@pytest.mark.django_db
def test_a_code_for_another_address_does_not_sign_in(api_client, user, org, mailoutbox):
    make_user(email="bob@example.com")
    _, code = request_magic_link(api_client, mailoutbox, ADA)

    assert_token_invalid(verify(api_client, email="bob@example.com", code=code))
    assert Session.objects.count() == 0


@pytest.mark.django_db
def test_wrong_codes_count_and_the_count_stays_although_each_answer_is_400(api_client, user, org, mailoutbox):
    _, code = request_magic_link(api_client, mailoutbox, ADA)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    for expected in (1, 2, 3):
        assert_token_invalid(verify(api_client, email=ADA, code=wrong))
        assert sign_in_rows()[0].code_attempts == expected

    assert verify(api_client, email=ADA, code=code).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_after_the_attempt_cap_the_code_dies_and_the_link_lives(api_client, settings, user, org, mailoutbox):
    assert settings.MAGIC_LINK_CODE_ATTEMPTS == 5
    token, code = request_magic_link(api_client, mailoutbox, ADA)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    for _ in range(5):
        assert_token_invalid(verify(api_client, email=ADA, code=wrong))

    row = sign_in_rows()[0]
    assert row.code_attempts == 5
    assert row.code_digest == ""
    assert row.ended_at is None
    assert_token_invalid(verify(api_client, email=ADA, code=code))
    event = only(E.MAGIC_LINK_CODE_EXHAUSTED)
    assert event.subject_user_id == user.id
    assert event.org_id is None
    assert event.details == {"attempts": 5}
    assert verify(api_client, token=token).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_a_new_link_brings_a_new_code_with_fresh_attempts(api_client, user, org, mailoutbox):
    _, code = request_magic_link(api_client, mailoutbox, ADA)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        verify(api_client, email=ADA, code=wrong)

    _, code = request_magic_link(api_client, mailoutbox, ADA)

    assert sign_in_rows()[0].code_attempts == 0
    assert verify(api_client, email=ADA, code=code).status_code == HTTPStatus.OK


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": ADA},
        {"code": "123456"},
        {"email": ADA, "code": "12345"},
        {"email": ADA, "code": "abcdef"},
        {"email": ADA, "code": "1234567"},
        {"token": "x" * 43, "email": ADA, "code": "123456"},
        {"token": ""},
        {"token": None},
        {"token": 12345},
    ],
)
def test_a_body_without_a_token_or_an_address_and_code_is_400(api_client, user, org, body):
    response = verify(api_client, **body)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert Session.objects.count() == 0


# --- Only digests are stored ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_only_digests_are_stored(api_client, user, org, mailoutbox):
    token, code = request_magic_link(api_client, mailoutbox, ADA)
    verify(api_client, email=ADA, code=f"{(int(code) + 1) % 1_000_000:06d}")  # a miss: an attempt is stored

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM magiclinks_emailtoken")
        columns = [column.name for column in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    assert len(rows) == 1
    [row] = rows
    assert row["digest"] == secret_digest(token, purpose="sign_in")
    assert row["code_digest"] and row["code_digest"] != row["digest"]
    for name, value in row.items():
        if isinstance(value, str):
            assert token not in value, name
            assert code not in value, name
        else:
            assert str(value) != code, name
    assert_no_secret_stored(token)
    for event in events():
        assert code not in str(event.details)


# --- Audit ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_requests_are_audited_with_whether_a_link_was_sent_and_no_token(
    api_client, settings, user, org, mailoutbox
):
    token, _ = request_magic_link(api_client, mailoutbox, ADA)
    settings.AUTH_ALLOW_SIGNUP = False
    post(api_client, MAGIC_REQUEST, {"email": "nobody@example.com"})

    sent, not_sent = events(type=E.MAGIC_LINK_REQUESTED)
    assert (sent.actor_user_id, sent.subject_user_id, sent.org_id) == (None, user.id, None)  # anyone may ask
    assert sent.details == {"sent": True}
    assert (not_sent.actor_user_id, not_sent.subject_user_id) == (None, None)
    assert not_sent.details == {"sent": False, "email": "nobody@example.com"}
    assert_no_secret_stored(token)


# --- debug_link -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_no_debug_link_with_debug_off(api_client, settings, user, org, mailoutbox):
    assert settings.DEBUG is False

    response = post(api_client, MAGIC_REQUEST, {"email": ADA})

    assert response.json() == SIGN_IN_LINK_SENT
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_debug_link_with_debug_on_is_the_mailed_link(api_client, settings, user, org, mailoutbox):
    settings.DEBUG = True

    response = post(api_client, MAGIC_REQUEST, {"email": ADA})

    assert response.status_code == HTTPStatus.ACCEPTED
    body = response.json()
    assert set(body) == {"detail", "debug_link"}
    assert body["debug_link"] == link_in(only_mail(mailoutbox, ADA))
    assert body["debug_link"].startswith(magic_prefix())


@pytest.mark.django_db
def test_no_debug_link_when_no_link_was_sent(api_client, settings, user, org, mailoutbox):
    settings.DEBUG = True
    settings.AUTH_ALLOW_SIGNUP = False
    make_user(email="gone@example.com", is_active=False)

    for email in ("nobody@example.com", "gone@example.com"):
        response = post(api_client, MAGIC_REQUEST, {"email": email})
        assert response.status_code == HTTPStatus.ACCEPTED
        assert response.json() == SIGN_IN_LINK_SENT
    assert mailoutbox == []


# --- A failing email provider -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_failing_email_provider_never_changes_the_answer(api_client, settings, user, org, mailoutbox):
    working = post(api_client, MAGIC_REQUEST, {"email": "other@example.com"})
    settings.EMAIL_BACKEND = f"{FailingEmailBackend.__module__}.{FailingEmailBackend.__qualname__}"
    FailingEmailBackend.attempts = 0

    failing = post(api_client, MAGIC_REQUEST, {"email": ADA})

    assert failing.status_code == working.status_code == HTTPStatus.ACCEPTED
    assert failing.content == working.content
    assert FailingEmailBackend.attempts == 1  # it was tried, and failed
    assert len(sign_in_rows()) == 1  # the link exists; asking again sends a new one


@pytest.mark.django_db
def test_a_failing_email_provider_on_password_forgot_never_changes_the_answer(
    api_client, settings, user, org
):
    settings.EMAIL_BACKEND = f"{FailingEmailBackend.__module__}.{FailingEmailBackend.__qualname__}"
    FailingEmailBackend.attempts = 0

    failing = post(api_client, PASSWORD_FORGOT, {"email": ADA})

    assert failing.status_code == HTTPStatus.OK
    assert failing.json() == RESET_LINK_SENT
    assert FailingEmailBackend.attempts == 1
