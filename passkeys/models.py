from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone


class Passkey(models.Model):
    """A user's WebAuthn credential: a user-level table (no ``org_id``, not under RLS).

    Only what verifying an assertion needs: the credential's id and public key (COSE, as the
    authenticator gave it), its signature counter, and what the browser said about it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="passkeys")
    credential_id = models.BinaryField(unique=True)
    public_key = models.BinaryField()
    sign_count = models.BigIntegerField(default=0)
    transports = ArrayField(models.CharField(max_length=16), default=list, blank=True)
    # multi_device: synced (a platform's passkey); single_device: bound to one authenticator (a security key)
    device_type = models.CharField(max_length=16)
    backed_up = models.BooleanField(default=False)
    aaguid = models.CharField(max_length=36, blank=True)
    name = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class PasskeyChallenge(models.Model):
    """One ceremony's challenge: single-use and short-lived. A registration's belongs to the session that
    asked for it; a sign-in's is found by its id (``challenge_id``), whoever asks."""

    class Purpose(models.TextChoices):
        REGISTER = "register"
        LOGIN = "login"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    purpose = models.CharField(max_length=8, choices=Purpose.choices)
    challenge = models.BinaryField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    session_id = models.UUIDField(null=True, blank=True)
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="passkeychallenge_expires_idx")]

    def __str__(self) -> str:
        return f"{self.purpose} challenge {self.pk}"
