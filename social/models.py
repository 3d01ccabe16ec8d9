from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class SocialIdentity(models.Model):
    """A user's account at an identity provider: a user-level table (no ``org_id``, not under RLS).

    The provider's subject (``sub``) is the identity: the same ``sub`` is the same user even after the
    address at the provider changed. ``email`` is the address the provider gave when it was linked.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="social_identities"
    )
    provider = models.CharField(max_length=32)
    subject = models.CharField(max_length=255)
    email = models.EmailField(max_length=254, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "social identities"
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "subject"], name="socialidentity_provider_subject_unique"
            )
        ]
        indexes = [models.Index(fields=["user"], name="socialidentity_user_idx")]

    def __str__(self) -> str:
        return f"{self.provider}:{self.email or self.subject}"
