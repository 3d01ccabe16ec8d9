from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class LinkPurpose(models.TextChoices):
    SIGN_IN = "sign_in", "magic-link sign-in"
    EMAIL_VERIFICATION = "email_verification", "email verification"
    PASSWORD_RESET = "password_reset", "password reset"


class EndReason(models.TextChoices):
    USED = "used"
    EXPIRED_BY_ADMIN = "expired_by_admin"


class EmailToken(models.Model):
    """A one-time token sent in an email: a user-level table (no ``org_id``, not under RLS).

    Only digests are stored (``core.secrets.secret_digest``): of the token in the link and, for a sign-in,
    of the short code beside it. At most one live token per purpose and address (a partial unique index):
    issuing a new one replaces the old one in place, so an older link dies the moment a newer one is
    made. A token ends when it is used (``ended_at``), expires (``expires_at``), or an admin expires it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    purpose = models.CharField(max_length=32, choices=LinkPurpose.choices)
    email = models.EmailField(max_length=254)
    # None for a sign-in link to an address without an account yet (created on verify if sign-up is on).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    digest = models.CharField(max_length=64, unique=True)
    code_digest = models.CharField(max_length=64, blank=True)  # "" when there is none, or it died
    code_attempts = models.PositiveSmallIntegerField(default=0)
    # Password reset: a digest of the password hash at issue; any password change since kills the token.
    password_fingerprint = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=32, blank=True, choices=EndReason.choices)
    # Who asked for it (the request's network and client), for the admin.
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["purpose", "email"],
                condition=Q(ended_at__isnull=True),
                name="emailtoken_one_live_per_address",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} for {self.email}"
