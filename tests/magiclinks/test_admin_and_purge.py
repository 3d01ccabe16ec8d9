"""The admin's view of emailed links (never a token, ``Expire now``) and ``manage.py magiclinks_purge``."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.secrets import secret_digest
from magiclinks.models import EmailToken, LinkPurpose
from tests.factories import make_user
from tests.magiclinks.helpers import (
    MAGIC_VERIFY,
    assert_token_invalid,
    post,
    request_magic_link,
    request_reset_link,
)

ADA = "ada@example.com"
CHANGELIST = "/admin/magiclinks/emailtoken/"


@pytest.mark.django_db
def test_the_changelist_shows_the_address_and_never_the_token(
    admin_client, api_client, user, org, mailoutbox
):
    token, code = request_magic_link(api_client, mailoutbox, ADA)
    row = EmailToken.objects.get()

    response = admin_client.get(CHANGELIST)

    assert response.status_code == HTTPStatus.OK
    content = response.content.decode()
    assert ADA in content
    assert "pending" in content
    assert response.context["cl"].result_count == 1
    for secret in (token, row.digest, row.code_digest):
        assert secret not in content
    assert f">{code}<" not in content
    assert f"{CHANGELIST}add/" not in content


@pytest.mark.django_db
def test_the_detail_page_shows_no_digest(admin_client, api_client, user, org, mailoutbox):
    token, _ = request_magic_link(api_client, mailoutbox, ADA)
    row = EmailToken.objects.get()

    response = admin_client.get(f"{CHANGELIST}{row.pk}/change/")

    assert response.status_code == HTTPStatus.OK
    content = response.content.decode()
    assert ADA in content
    for secret in (token, row.digest, row.code_digest):
        assert secret not in content


@pytest.mark.django_db
def test_the_admin_can_neither_add_nor_change_a_link(admin_client, api_client, user, org, mailoutbox):
    request_magic_link(api_client, mailoutbox, ADA)
    row = EmailToken.objects.get()

    assert admin_client.get(f"{CHANGELIST}add/").status_code == HTTPStatus.FORBIDDEN
    response = admin_client.post(f"{CHANGELIST}{row.pk}/change/", {"email": "mallory@example.com"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert EmailToken.objects.get().email == ADA


@pytest.mark.django_db
def test_the_status_filter(admin_client, api_client, user, org, mailoutbox):
    request_magic_link(api_client, mailoutbox, ADA)
    request_reset_link(api_client, mailoutbox, ADA)
    EmailToken.objects.filter(purpose=LinkPurpose.PASSWORD_RESET).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )

    pending = admin_client.get(CHANGELIST, {"status": "pending"}).context["cl"].result_list
    expired = admin_client.get(CHANGELIST, {"status": "expired"}).context["cl"].result_list

    assert [t.purpose for t in pending] == [LinkPurpose.SIGN_IN]
    assert [t.purpose for t in expired] == [LinkPurpose.PASSWORD_RESET]


@pytest.mark.django_db
def test_expire_now_ends_a_pending_link(admin_client, api_client, user, org, mailoutbox):
    token, code = request_magic_link(api_client, mailoutbox, ADA)
    row = EmailToken.objects.get()

    response = admin_client.post(CHANGELIST, {"action": "expire_now", "_selected_action": [str(row.pk)]})

    assert response.status_code == HTTPStatus.FOUND
    row.refresh_from_db()
    assert row.ended_at is not None
    assert row.end_reason == "expired_by_admin"
    assert_token_invalid(post(api_client, MAGIC_VERIFY, {"token": token}))
    assert_token_invalid(post(api_client, MAGIC_VERIFY, {"email": ADA, "code": code}))
    # The address can ask for a new one: the expired row no longer counts as its live link.
    new_token, _ = request_magic_link(api_client, mailoutbox, ADA)
    assert post(api_client, MAGIC_VERIFY, {"token": new_token}).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_expire_now_leaves_a_used_link_as_used(admin_client, api_client, user, org, mailoutbox):
    token, _ = request_magic_link(api_client, mailoutbox, ADA)
    post(api_client, MAGIC_VERIFY, {"token": token})
    row = EmailToken.objects.get()

    admin_client.post(CHANGELIST, {"action": "expire_now", "_selected_action": [str(row.pk)]})

    row.refresh_from_db()
    assert row.end_reason == "used"


# --- magiclinks_purge -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_purge_deletes_expired_links_and_keeps_live_ones(api_client, user, org, mailoutbox):
    make_user(email="bob@example.com")
    make_user(email="cy@example.com")
    live, _ = request_magic_link(api_client, mailoutbox, ADA)
    used, _ = request_magic_link(api_client, mailoutbox, "bob@example.com")
    post(api_client, MAGIC_VERIFY, {"token": used})
    request_reset_link(api_client, mailoutbox, "cy@example.com")
    used_recently, _ = request_magic_link(api_client, mailoutbox, "cy@example.com")
    post(api_client, MAGIC_VERIFY, {"token": used_recently})
    past = timezone.now() - timedelta(seconds=1)
    EmailToken.objects.filter(email="bob@example.com").update(expires_at=past)
    EmailToken.objects.filter(email="cy@example.com", purpose=LinkPurpose.PASSWORD_RESET).update(
        expires_at=past
    )
    out = StringIO()

    call_command("magiclinks_purge", stdout=out)

    assert out.getvalue().strip() == "deleted 2 expired link(s)"
    remaining = {(t.email, t.purpose) for t in EmailToken.objects.all()}
    assert remaining == {(ADA, LinkPurpose.SIGN_IN), ("cy@example.com", LinkPurpose.SIGN_IN)}
    assert EmailToken.objects.filter(digest=secret_digest(live, purpose="sign_in")).exists()
    assert post(api_client, MAGIC_VERIFY, {"token": live}).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_purge_with_nothing_to_delete(api_client, user, org, mailoutbox):
    request_magic_link(api_client, mailoutbox, ADA)
    out = StringIO()

    call_command("magiclinks_purge", stdout=out)

    assert out.getvalue().strip() == "deleted 0 expired link(s)"
    assert EmailToken.objects.count() == 1
