from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tenants.policy import MembershipRole
from tenants.rls.models import TenantScopedModel


class InvitationStatus(models.TextChoices):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REVOKED = "revoked"
    EXPIRED = "expired"


class Invitation(TenantScopedModel):
    """An invitation to join an org with a role: a tenant table (``org_id``, under RLS).

    The token in the emailed link (``FRONTEND_URL/invite/<token>``) is stored as a keyed digest only, and
    changes with every send (resend: the old link dies, and answers 400 from then on). At most one open invitation per address and org
    (a partial unique index). Status: accepted, revoked (an invitation revoked once expired counts as
    expired), expired, or pending.
    """

    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=16, choices=MembershipRole.choices, default=MembershipRole.MEMBER)
    digest = models.CharField(max_length=64, unique=True)
    # The digests of its earlier links (each send replaces the link): presented, they answer 400, not 404.
    retired_digests = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # An invitation made with an API key (no user): the key's id (the apikeys app's; not a foreign key,
    # feature apps keep apart).
    invited_by_api_key_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "email"],
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_address",
            )
        ]
        indexes = [GinIndex(fields=["retired_digests"], name="invitation_retired_digests_gin")]

    def __str__(self) -> str:
        return f"{self.email} to {self.org_id} as {self.role}"

    RETIRED_KEPT = 10  # earlier links remembered (answered 400); older ones are simply unknown (404)

    def digest_replace(self, digest: str, *, retire: bool = True) -> None:
        """A new link; with ``retire`` the current one joins the retired (the caller saves both fields)."""
        if retire:
            self.retired_digests = [*self.retired_digests, self.digest][-self.RETIRED_KEPT :]
        self.digest = digest

    @property
    def status(self) -> str:
        if self.accepted_at is not None:
            return InvitationStatus.ACCEPTED
        if self.revoked_at is not None:
            return (
                InvitationStatus.EXPIRED if self.expires_at <= self.revoked_at else InvitationStatus.REVOKED
            )
        return InvitationStatus.EXPIRED if self.expires_at <= timezone.now() else InvitationStatus.PENDING
