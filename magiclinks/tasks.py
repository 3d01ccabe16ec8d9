"""The email jobs (``core.jobs``): each looks the address up, mints its token and sends the mail.

Minting in the job keeps the raw token out of the queue (its arguments are an address, a URL and the
request's IP and user agent) and gives the public endpoints one and the same piece of work whatever the
address: queue one job. Whether the address may receive a link is decided here, out of the client's
sight. A retried job mints a fresh token, which replaces the one an earlier attempt made.

Each job returns the link it sent (``None`` when it sent none): shown as ``debug_link`` with ``DEBUG``
when the job ran in the request (``EMAIL_DELIVERY=immediate``).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction

from accounts.models import User
from core.email import email_render, email_send
from core.http import RequestMeta
from core.jobs import email_task
from magiclinks.models import LinkPurpose
from magiclinks.services import link_build, token_issue
from tenants.audit import AuditEventType, audit_record


def _requested(
    event: AuditEventType, *, user: User | None, email: str, sent: bool, meta: RequestMeta
) -> None:
    details: dict = {"sent": sent}
    if user is None:
        details["email"] = email  # no account: only staff see this event (the admin)
    audit_record(
        event,
        actor_user_id=user.pk if user else None,
        subject_user_id=user.pk if user else None,
        details=details,
        meta=meta,
    )


@email_task
def send_sign_in_link(*, email: str, redirect_url: str | None, meta: dict) -> str | None:
    """A magic link (and its code) to ``email`` if it may sign in: an active account, or none yet while
    sign-up is allowed (``verify/`` then creates it)."""
    request_meta = RequestMeta(**meta)
    with transaction.atomic(savepoint=False):
        user = User.objects.filter(email=email).first()
        sendable = user.is_active if user is not None else settings.AUTH_ALLOW_SIGNUP
        _requested(
            AuditEventType.MAGIC_LINK_REQUESTED, user=user, email=email, sent=sendable, meta=request_meta
        )
        if not sendable:
            return None
        issued = token_issue(
            purpose=LinkPurpose.SIGN_IN,
            email=email,
            user=user,
            lifetime=timedelta(minutes=settings.MAGIC_LINK_MINUTES),
            meta=request_meta,
            with_code=True,
        )
    if redirect_url:
        link = link_build(redirect_url, issued.token, in_query=True)
    else:
        link = link_build(f"{settings.FRONTEND_URL}/auth/magic", issued.token)
    context = {
        "link": link,
        "code": issued.code,
        "minutes": issued.expires_minutes,
        "new_account": user is None,
    }
    email_send(email_render("magiclinks/email/sign_in", to=email, context=context))
    return link


@email_task
def send_password_reset_link(*, email: str, meta: dict) -> str | None:
    """A reset link to ``email`` if it has an active account (also one without a usable password:
    the link sets its first one)."""
    request_meta = RequestMeta(**meta)
    with transaction.atomic(savepoint=False):
        user = User.objects.filter(email=email, is_active=True).first()
        _requested(
            AuditEventType.PASSWORD_RESET_REQUESTED,
            user=user,
            email=email,
            sent=user is not None,
            meta=request_meta,
        )
        if user is None:
            return None
        issued = token_issue(
            purpose=LinkPurpose.PASSWORD_RESET,
            email=email,
            user=user,
            lifetime=timedelta(minutes=settings.PASSWORD_RESET_MINUTES),
            meta=request_meta,
        )
    link = link_build(f"{settings.FRONTEND_URL}/auth/reset", issued.token)
    context = {"link": link, "minutes": issued.expires_minutes, "has_password": user.has_usable_password()}
    email_send(email_render("magiclinks/email/password_reset", to=email, context=context))
    return link


@email_task
def send_email_verification_link(*, user_id: str, meta: dict) -> str | None:
    """A verification link to the user's address, unless it is verified already."""
    request_meta = RequestMeta(**meta)
    with transaction.atomic(savepoint=False):
        user = User.objects.filter(pk=user_id, is_active=True).first()
        if user is None or user.email_verified:
            return None
        issued = token_issue(
            purpose=LinkPurpose.EMAIL_VERIFICATION,
            email=user.email,
            user=user,
            lifetime=timedelta(hours=settings.EMAIL_VERIFICATION_HOURS),
            meta=request_meta,
        )
        _requested(
            AuditEventType.EMAIL_VERIFICATION_REQUESTED,
            user=user,
            email=user.email,
            sent=True,
            meta=request_meta,
        )
    link = link_build(f"{settings.FRONTEND_URL}/auth/verify-email", issued.token)
    context = {"link": link, "hours": settings.EMAIL_VERIFICATION_HOURS, "user": user}
    email_send(email_render("magiclinks/email/email_verification", to=user.email, context=context))
    return link
