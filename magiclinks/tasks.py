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
from accounts.services.users import signup_allowed
from core.email import email_render, email_send
from core.http import RequestMeta
from core.jobs import email_task
from magiclinks.models import LinkPurpose
from magiclinks.services import link_build, token_issue
from tenants.audit import AuditEventType, audit_record


def _requested(
    event: AuditEventType, *, user: User | None, email: str, sent: bool, meta: RequestMeta
) -> None:
    """Record a request for a link: once, after the mail went out (a retried job records nothing for the
    attempts that failed), or at once when none is sent."""
    details: dict = {"sent": sent}
    if user is None:
        details["email"] = email  # no account: only staff see this event (the admin)
    # No actor: anyone may ask for a link to any address; the subject is the account it is for.
    audit_record(
        event, actor_user_id=None, subject_user_id=user.pk if user else None, details=details, meta=meta
    )


def _send(
    event: AuditEventType,
    *,
    purpose: LinkPurpose,
    user: User | None,
    email: str,
    lifetime: timedelta,
    meta: RequestMeta,
    link_base: str,
    template: str,
    context: dict,
    with_code: bool = False,
    in_query: bool = False,
) -> str:
    """Mint the token (committed before the mail leaves), mail the link, record the request."""
    with transaction.atomic(savepoint=False):
        issued = token_issue(
            purpose=purpose, email=email, user=user, lifetime=lifetime, meta=meta, with_code=with_code
        )
    link = link_build(link_base, issued.token, in_query=in_query)
    context = {"link": link, "code": issued.code, "minutes": issued.expires_minutes, **context}
    email_send(email_render(template, to=email, context=context))
    _requested(event, user=user, email=email, sent=True, meta=meta)
    return link


@email_task
def send_sign_in_link(*, email: str, redirect_url: str | None, meta: dict) -> str | None:
    """A magic link (and its code) to ``email`` if it may sign in: an active account, or none yet while
    sign-up is allowed (``verify/`` then creates it)."""
    request_meta = RequestMeta(**meta)
    user = User.objects.filter(email=email).first()
    if not (user.is_active if user is not None else signup_allowed()):
        _requested(AuditEventType.MAGIC_LINK_REQUESTED, user=user, email=email, sent=False, meta=request_meta)
        return None
    return _send(
        AuditEventType.MAGIC_LINK_REQUESTED,
        purpose=LinkPurpose.SIGN_IN,
        user=user,
        email=email,
        lifetime=timedelta(minutes=settings.MAGIC_LINK_MINUTES),
        meta=request_meta,
        link_base=redirect_url or f"{settings.FRONTEND_URL}/auth/magic",
        in_query=bool(redirect_url),
        with_code=True,
        template="magiclinks/email/sign_in",
        context={"new_account": user is None},
    )


@email_task
def send_password_reset_link(*, email: str, meta: dict) -> str | None:
    """A reset link to ``email`` if it has an active account (also one without a usable password:
    the link sets its first one)."""
    request_meta = RequestMeta(**meta)
    user = User.objects.filter(email=email, is_active=True).first()
    if user is None:
        _requested(
            AuditEventType.PASSWORD_RESET_REQUESTED, user=None, email=email, sent=False, meta=request_meta
        )
        return None
    return _send(
        AuditEventType.PASSWORD_RESET_REQUESTED,
        purpose=LinkPurpose.PASSWORD_RESET,
        user=user,
        email=email,
        lifetime=timedelta(minutes=settings.PASSWORD_RESET_MINUTES),
        meta=request_meta,
        link_base=f"{settings.FRONTEND_URL}/auth/reset",
        template="magiclinks/email/password_reset",
        context={"has_password": user.has_usable_password()},
    )


@email_task
def send_email_verification_link(*, user_id: str, meta: dict) -> str | None:
    """A verification link to the user's address, unless it is verified already."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or user.email_verified:
        return None
    return _send(
        AuditEventType.EMAIL_VERIFICATION_REQUESTED,
        purpose=LinkPurpose.EMAIL_VERIFICATION,
        user=user,
        email=user.email,
        lifetime=timedelta(hours=settings.EMAIL_VERIFICATION_HOURS),
        meta=RequestMeta(**meta),
        link_base=f"{settings.FRONTEND_URL}/auth/verify-email",
        template="magiclinks/email/email_verification",
        context={"hours": settings.EMAIL_VERIFICATION_HOURS, "user": user},
    )
