from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from tenants.rls.models import TenantScopedModel

KEY_PREFIX = "authsvc"  # <prefix>_<public id>_<secret>: greppable by secret scanners


class ApiKey(TenantScopedModel):
    """An org's key for server-to-server calls: a tenant table (``org_id``, under RLS).

    The key is ``authsvc_<public id>_<secret>``: the 8-character public id is stored (unique, the
    lookup) and the 256-bit secret only as a keyed digest, compared in constant time. Its scopes
    (``tenants.policy.API_KEY_SCOPES``) limit what it may call; no scope manages keys.
    """

    name = models.CharField(max_length=100)
    public_id = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    scopes = ArrayField(models.CharField(max_length=32), default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def prefix(self) -> str:
        """What identifies the key without revealing it: ``authsvc_<public id>``."""
        return f"{KEY_PREFIX}_{self.public_id}"

    @property
    def active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())
