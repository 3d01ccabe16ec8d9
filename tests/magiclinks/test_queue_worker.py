"""Email off the request path (``EMAIL_DELIVERY=queue``): the request only queues a job in Postgres,
inside its own transaction; a procrastinate worker mints the token and sends the mail, with retries."""

from __future__ import annotations

import asyncio
import re
from http import HTTPStatus

import pytest
from django.core import mail
from django.db import connection, transaction
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob

from core.jobs import job_start
from magiclinks.models import EmailToken
from magiclinks.tasks import send_sign_in_link
from tests.api import AUTH

REQUEST = f"{AUTH}/magic-link/request/"
VERIFY = f"{AUTH}/magic-link/verify/"
SENT = {"detail": "If the address can sign in, a link has been sent."}


class FailingBackend:
    """An email provider that is down."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def send_messages(self, messages):
        raise ConnectionError("provider unreachable")


def run_worker_until_idle() -> None:
    """What ``manage.py procrastinate worker --one-shot`` does: run the queued jobs, then stop.

    The jobs run in a worker thread with a Django connection of its own: not persistent here, so it is
    closed after each job (the test database can then be dropped).
    """
    settings_dict = connection.settings_dict
    conn_max_age, settings_dict["CONN_MAX_AGE"] = settings_dict["CONN_MAX_AGE"], 0
    try:
        with app.replace_connector(app.connector.get_worker_connector()):
            app.run_worker(queues=["email"], wait=False, install_signal_handlers=False, listen_notify=False)
    finally:
        settings_dict["CONN_MAX_AGE"] = conn_max_age


@pytest.fixture
def queued(settings):
    settings.EMAIL_DELIVERY = "queue"
    settings.DEBUG = True  # debug_link would show a link minted in the request: there is none to show
    yield
    with connection.cursor() as cursor:  # not Django-managed: the test flush leaves the queue alone
        cursor.execute("DELETE FROM procrastinate_jobs")


@pytest.mark.django_db(transaction=True)
def test_with_the_worker_stopped_the_request_answers_and_the_mail_waits_for_it(
    api_client, user, org, queued, caplog
):
    response = api_client.post(REQUEST, {"email": "ada@example.com"}, format="json")

    assert response.status_code == HTTPStatus.ACCEPTED
    assert response.json() == SENT  # no debug_link: nothing was minted in the request
    assert mail.outbox == []
    assert not EmailToken.objects.exists()
    job = ProcrastinateJob.objects.get()
    assert (job.status, job.queue_name, job.task_name) == (
        "todo",
        "email",
        "magiclinks.tasks.send_sign_in_link",
    )
    assert job.args["email"] == "ada@example.com" and "token" not in str(job.args).lower()

    with caplog.at_level("DEBUG"):
        run_worker_until_idle()  # the worker starts

    assert len(mail.outbox) == 1
    link = re.search(r"http://localhost:3000/auth/magic/(\S+)", mail.outbox[0].body)
    assert "Success" in caplog.text and link.group(1) not in caplog.text  # a job's result is logged
    assert not ProcrastinateJob.objects.exists()  # done jobs leave the queue
    assert api_client.post(VERIFY, {"token": link.group(1)}, format="json").status_code == HTTPStatus.OK


@pytest.mark.django_db(transaction=True)
def test_known_and_unknown_addresses_queue_the_same_job_and_get_the_same_answer(
    api_client, user, org, queued, settings
):
    settings.AUTH_ALLOW_SIGNUP = False
    known = api_client.post(REQUEST, {"email": "ada@example.com"}, format="json")
    unknown = api_client.post(REQUEST, {"email": "nobody@example.com"}, format="json")

    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    jobs = list(ProcrastinateJob.objects.order_by("id").values_list("task_name", "status"))
    assert jobs == [("magiclinks.tasks.send_sign_in_link", "todo")] * 2

    run_worker_until_idle()

    assert [message.to for message in mail.outbox] == [["ada@example.com"]]  # the job decided, unseen


@pytest.mark.django_db(transaction=True)
def test_a_failing_provider_changes_no_answer_and_the_job_is_retried_later(
    api_client, user, org, queued, settings
):
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"

    response = api_client.post(REQUEST, {"email": "ada@example.com"}, format="json")
    run_worker_until_idle()

    assert (response.status_code, response.json()) == (HTTPStatus.ACCEPTED, SENT)
    job = ProcrastinateJob.objects.get()
    assert (job.status, job.attempts) == ("todo", 1)  # back in the queue, with a backoff
    with connection.cursor() as cursor:
        cursor.execute("SELECT scheduled_at > now() FROM procrastinate_jobs WHERE id = %s", [job.id])
        assert cursor.fetchone() == (True,)


@pytest.mark.django_db(transaction=True)
def test_a_job_started_in_a_transaction_that_rolls_back_is_never_queued(queued):
    with pytest.raises(RuntimeError), transaction.atomic():
        job_start(
            send_sign_in_link, email="ada@example.com", redirect_url=None, meta={"ip": None, "user_agent": ""}
        )
        assert ProcrastinateJob.objects.count() == 1  # visible to this transaction only
        raise RuntimeError("the request failed after asking for the mail")

    assert not ProcrastinateJob.objects.exists()


@pytest.mark.django_db
def test_the_worker_polls_the_queue_as_the_runtime_role(settings):
    """Its own psycopg pool gets no ``assume_role`` from Django: ``core.jobs.RuntimeRoleConnector``."""
    connector = app.connector.get_worker_connector()

    async def current_user() -> str:
        await connector.open_async()
        try:
            return (await connector.execute_query_one_async("SELECT current_user AS name"))["name"]
        finally:
            await connector.close_async()

    assert asyncio.run(current_user()) == settings.DATABASE_APP_ROLE
