"""``manage.py sessions_purge``: ended sessions go after ``--days``, expired MFA challenges at once, live
ones never; a purged session's tokens are refused as an ended one's were."""

from __future__ import annotations

import secrets
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import MfaChallenge, RevokeReason, Session
from tests.api import AUTH, claims, login
from tests.factories import DEFAULT_PASSWORD, make_org, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada(db):
    user = make_user(email="ada@example.com")
    make_org(name="Acme", owner=user)
    return user


def sign_ins(api_client, count: int) -> list[dict]:
    return [login(api_client, "ada@example.com", DEFAULT_PASSWORD).json() for _ in range(count)]


def session_ids(pairs: list[dict]) -> list:
    return [claims(pair["access"])["sid"] for pair in pairs]


def purge(*args: str) -> str:
    out = StringIO()
    call_command("sessions_purge", *args, stdout=out)
    return out.getvalue()


def challenge(user, *, expires_in: timedelta) -> MfaChallenge:
    return MfaChallenge.objects.create(
        user=user,
        digest=secrets.token_hex(32),
        password_fingerprint=secrets.token_hex(32),
        method="password",
        amr=["pwd"],
        org_reference="",
        expires_at=timezone.now() + expires_in,
    )


def test_ended_sessions_go_after_the_retention_and_live_ones_stay(api_client, ada):
    live, expired_long, expired_recent, revoked_long, revoked_recent = session_ids(sign_ins(api_client, 5))
    now = timezone.now()
    Session.objects.filter(id=expired_long).update(expires_at=now - timedelta(days=10))
    Session.objects.filter(id=expired_recent).update(expires_at=now - timedelta(days=2))
    Session.objects.filter(id=revoked_long).update(
        revoked_at=now - timedelta(days=10), revoked_reason=RevokeReason.LOGOUT
    )
    Session.objects.filter(id=revoked_recent).update(
        revoked_at=now - timedelta(days=1), revoked_reason=RevokeReason.LOGOUT
    )
    stale, fresh = (
        challenge(ada, expires_in=-timedelta(minutes=1)),
        challenge(ada, expires_in=timedelta(minutes=4)),
    )

    output = purge()

    remaining = {str(pk) for pk in Session.objects.values_list("id", flat=True)}
    assert remaining == {live, expired_recent, revoked_recent}
    assert list(MfaChallenge.objects.values_list("id", flat=True)) == [fresh.id]
    assert not MfaChallenge.objects.filter(id=stale.id).exists()
    assert "Deleted 2 session(s)" in output and "1 expired MFA challenge(s)" in output


def test_days_zero_keeps_only_live_sessions_in_small_batches(api_client, ada):
    pairs = sign_ins(api_client, 7)
    for pair in pairs[:5]:
        assert (
            api_client.post(f"{AUTH}/logout/", {"refresh": pair["refresh"]}, format="json").status_code == 204
        )

    purge("--days", "0", "--batch-size", "2")

    assert {str(pk) for pk in Session.objects.values_list("id", flat=True)} == set(session_ids(pairs[5:]))


def test_a_purged_sessions_refresh_token_is_refused_as_before(api_client, ada):
    pair = sign_ins(api_client, 1)[0]
    assert api_client.post(f"{AUTH}/logout/", {"refresh": pair["refresh"]}, format="json").status_code == 204

    purge("--days", "0")

    response = api_client.post(f"{AUTH}/refresh/", {"refresh": pair["refresh"]}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"
    assert api_client.get(f"{AUTH}/me/", HTTP_AUTHORIZATION=f"Bearer {pair['access']}").status_code == 401


@pytest.mark.parametrize("args", [["--days", "-1"], ["--batch-size", "0"]])
def test_bad_arguments_are_refused(db, args):
    with pytest.raises(CommandError):
        purge(*args)
