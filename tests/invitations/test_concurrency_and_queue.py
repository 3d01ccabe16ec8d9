"""Committed transactions: concurrent accepts of one link (the row lock lets exactly one join), and the
invitation mail through the queue (``EMAIL_DELIVERY=queue``: the worker mints the link)."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus

import pytest
from django.core import mail
from django.db import connection
from procrastinate.contrib.django.models import ProcrastinateJob
from rest_framework.test import APIClient

from accounts.models import User
from tenants.audit import AuditEventType as E
from tests.audit.helpers import committed_events, events
from tests.invitations.helpers import (
    NEW_PASSWORD,
    accept,
    assert_invalid,
    create,
    invite,
    invite_prefix,
    memberships_of,
    resend,
    row,
    validate,
)
from tests.magiclinks.test_queue_worker import run_worker_until_idle

NEW = "new@example.com"


@pytest.mark.django_db(transaction=True)
def test_concurrent_accepts_of_one_link_join_exactly_once(api_client, org, ada_access, mailoutbox):
    body, token = invite(api_client, ada_access, mailoutbox, NEW, "admin")
    racers = 5
    barrier = threading.Barrier(racers)

    def one_tab() -> tuple[int, str | None]:
        try:
            client = APIClient()
            barrier.wait(timeout=30)
            response = accept(client, token, password=NEW_PASSWORD)
            return response.status_code, response.json().get("code")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=racers) as pool:
        outcomes = sorted(
            future.result(timeout=60) for future in [pool.submit(one_tab) for _ in range(racers)]
        )

    assert outcomes == [(HTTPStatus.CREATED, None)] + [(HTTPStatus.BAD_REQUEST, "invitation_invalid")] * (
        racers - 1
    )
    (membership,) = memberships_of(NEW)
    assert (membership.org_id, membership.role) == (org.id, "admin")
    assert User.objects.filter(email=NEW).count() == 1
    assert row(body["id"]).status == "accepted"
    assert len(events(type=E.INVITATION_ACCEPTED)) == 1


@pytest.fixture
def queued(settings):
    settings.EMAIL_DELIVERY = "queue"
    settings.DEBUG = True  # debug_link would show a link minted in the request: there is none to show
    yield
    with connection.cursor() as cursor:  # not Django-managed: the test flush leaves the queue alone
        cursor.execute("DELETE FROM procrastinate_jobs")


def mailed_link_token() -> str:
    assert len(mail.outbox) == 1
    match = re.search(rf"{re.escape(invite_prefix())}([A-Za-z0-9_-]{{43}})\s", mail.outbox[0].body)
    assert match, mail.outbox[0].body
    mail.outbox.clear()
    return match.group(1)


@pytest.mark.django_db(transaction=True)
def test_a_queued_invitation_is_minted_and_mailed_by_the_worker(api_client, org, ada_access, queued):
    response = create(api_client, ada_access, NEW)

    assert response.status_code == HTTPStatus.CREATED
    assert "debug_link" not in response.json()  # nothing was minted in the request
    assert mail.outbox == []
    job = ProcrastinateJob.objects.get()
    assert job.task_name == "invitations.tasks.send_invitation"
    assert job.args == {"invitation_id": response.json()["id"], "org_id": str(org.id)}

    run_worker_until_idle()

    token = mailed_link_token()
    assert mail.outbox == []
    assert validate(api_client, token).status_code == HTTPStatus.OK
    assert row(response.json()["id"]).sent_at is not None

    # A resend kills the old link at once, before the worker mails the new one.
    assert resend(api_client, ada_access, response.json()["id"]).status_code == HTTPStatus.OK
    assert_invalid(validate(api_client, token))
    run_worker_until_idle()
    assert accept(api_client, mailed_link_token(), password=NEW_PASSWORD).status_code == HTTPStatus.CREATED


@pytest.mark.django_db(transaction=True)
def test_a_queued_mail_of_an_invitation_revoked_meanwhile_is_not_sent(api_client, org, ada_access, queued):
    invitation_id = create(api_client, ada_access, NEW).json()["id"]
    assert (
        api_client.delete(
            f"/api/auth/org/invitations/{invitation_id}/", HTTP_AUTHORIZATION=f"Bearer {ada_access}"
        ).status_code
        == HTTPStatus.NO_CONTENT
    )

    run_worker_until_idle()

    assert mail.outbox == []
    assert row(invitation_id).status == "revoked"


@pytest.mark.django_db(transaction=True)
def test_a_refused_validation_is_committed_although_the_answer_is_400(
    api_client, org, ada_access, mailoutbox
):
    body, token = invite(api_client, ada_access, mailoutbox, NEW)
    api_client.delete(f"/api/auth/org/invitations/{body['id']}/", HTTP_AUTHORIZATION=f"Bearer {ada_access}")

    assert_invalid(validate(api_client, token))

    refused = committed_events(type=E.INVITATION_REFUSED)
    assert refused == [
        ("invitation.refused", {"email": NEW, "role": "member", "status": "revoked", "via": "validate"})
    ]
