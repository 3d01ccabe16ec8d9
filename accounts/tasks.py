"""The account's own email jobs (``core.jobs``)."""

from __future__ import annotations

from django.conf import settings

from accounts.models import User
from core.email import email_render, email_send
from core.jobs import email_task


@email_task
def send_mfa_locked_notice(*, user_id: str, minutes: int) -> None:
    """Tell the user that wrong codes locked their second factor: someone may know their password."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return
    context = {"user": user, "minutes": minutes, "app_url": settings.FRONTEND_URL}
    email_send(email_render("accounts/email/mfa_locked", to=user.email, context=context))
