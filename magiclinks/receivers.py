"""What magiclinks does when accounts tells it something (``accounts.signals``)."""

from __future__ import annotations

from dataclasses import asdict

from django.dispatch import receiver

from accounts.signals import user_registered
from core.jobs import job_start
from magiclinks.tasks import send_email_verification_link


@receiver(user_registered, dispatch_uid="magiclinks.verify_new_address")
def verify_new_address(sender, *, user, meta, **kwargs) -> None:
    """A new account's address gets its verification link (a job, started in the registration's
    transaction: no account, no mail)."""
    job_start(send_email_verification_link, user_id=str(user.pk), meta=asdict(meta))
