"""Email: every message has a subject, a text body and an HTML body, rendered from templates.

A message ``<name>`` is three templates: ``<name>/subject.txt``, ``<name>/body.txt`` and
``<name>/body.html`` (the HTML extends ``email/base.html``). Each gets the caller's context plus
``product_name`` (``AUTH_PRODUCT_NAME``). The backend is Django's (``EMAIL_BACKEND``: console, file,
SMTP, or any django-anymail provider).

Send from a job (``core.jobs``): in a worker a failure raises, so the job is retried; inline (in a
request) the message goes out when the request commits, and a failure is logged, never answered.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string

from core.http import is_local_host
from core.jobs import running_inline

logger = logging.getLogger(__name__)


def debug_links_shown() -> bool:
    """Whether answers may carry the link they emailed (``debug_link``): with ``DEBUG`` on, and only while
    every allowed host is local, so a public deployment that forgot ``DJANGO_DEBUG=0`` hands nobody a
    link into another person's account."""
    return settings.DEBUG and all(is_local_host(host) for host in settings.ALLOWED_HOSTS)


def email_render(name: str, *, to: str, context: dict) -> EmailMultiAlternatives:
    """The message ``name`` for ``to``, rendered with ``context``."""
    context = {"product_name": settings.AUTH_PRODUCT_NAME, **context}
    subject = " ".join(render_to_string(f"{name}/subject.txt", context).split())  # one line
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{name}/body.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
    )
    message.attach_alternative(render_to_string(f"{name}/body.html", context), "text/html")
    return message


def email_send(message: EmailMultiAlternatives) -> None:
    """Send ``message``: now from a worker (errors raise, the job retries), or on commit inline."""
    if not running_inline():
        message.send()
        return

    def send_logged() -> None:
        try:
            message.send()
        except Exception:  # the provider's failure never changes a client's answer
            logger.exception("email to %s (%s) could not be sent", message.to, message.subject)

    transaction.on_commit(send_logged)
