"""Delete emailed tokens past their expiry (used or not): run it from cron, e.g. hourly."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models.functions import Now

from magiclinks.models import EmailToken


class Command(BaseCommand):
    help = "Delete emailed links (sign-in, verification, reset) whose expiry has passed."

    def handle(self, *args, **options) -> None:
        with transaction.atomic():
            deleted, _ = EmailToken.objects.filter(expires_at__lte=Now()).delete()
        self.stdout.write(f"deleted {deleted} expired link(s)")
