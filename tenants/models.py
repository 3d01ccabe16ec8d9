"""Organizations (the tenants) and memberships (a user in an org, with a role)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models, transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from tenants.audit import AuditEventType, audit_record
from tenants.policy import MembershipRole, role_level
from tenants.rls.models import TenantScopedModel


class Organization(models.Model):
    """A tenant. Not itself under RLS: a user sees the names of the orgs they belong to at sign-in."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Members without MFA get 403 mfa_enrolment_required on the org's endpoints (tenants.api.permissions).
    require_mfa = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(TenantScopedModel):
    """A user's membership in one org, with a role. Under RLS (``org_id``).

    The API calls its id ``profile_id`` (token claims, ``org/members/<profile_id>/``); in code and docs
    it is a membership.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=MembershipRole.choices, default=MembershipRole.MEMBER)
    is_active = models.BooleanField(default=True)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "org"], name="membership_unique_user_org")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.org_id} ({self.role})"

    @property
    def role_level(self) -> int:
        return role_level(self.role)

    @classmethod
    def from_db(cls, db, field_names, values):
        membership = super().from_db(db, field_names, values)
        membership._loaded = {
            "role": membership.__dict__.get("role"),
            "is_active": membership.__dict__.get("is_active"),
        }
        return membership

    def save(self, *args, **kwargs) -> None:
        """Save, and record a role change, an ending or a reactivation (audit, same transaction).

        The sessions an ending ends are revoked by the database (migration ``accounts.0003``)."""
        loaded = getattr(self, "_loaded", None)
        with transaction.atomic(savepoint=False):  # the change and its events: all or none
            super().save(*args, **kwargs)
            if loaded is not None:
                self._record_changes(loaded)

    def _record_changes(self, loaded: dict) -> None:
        events = []
        if loaded["role"] != self.role:
            events.append((AuditEventType.MEMBERSHIP_ROLE_CHANGED, {"from": loaded["role"], "to": self.role}))
        if loaded["is_active"] and not self.is_active:
            # A flow that ends it for a reason of its own names the event (``membership.removed``, ``.left``).
            event = getattr(self, "end_event", None) or AuditEventType.MEMBERSHIP_ENDED
            events.append((event, {"role": self.role}))
        elif loaded["is_active"] is False and self.is_active:
            events.append((AuditEventType.MEMBERSHIP_REACTIVATED, {"role": self.role}))
        for event, details in events:
            audit_record(
                event, org_id=self.org_id, subject_user_id=self.user_id, subject=self, details=details
            )
        self._loaded = {"role": self.role, "is_active": self.is_active}


class AuditEvent(models.Model):
    """One security event (``tenants.audit`` writes them: :func:`tenants.audit.audit_record` is the only
    writer). Under RLS on ``org_id`` like every org table, with two more policies (migration 0003): an
    event about a user with no org of its own (``org_id`` NULL, e.g. a failed sign-in) is readable in
    every org that user is an active member of, and nowhere else; one with neither org nor user (a
    failed sign-in for an unknown email) only through the cross-tenant path (staff, in the admin).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    occurred_at = models.DateTimeField()  # the database's clock_timestamp() at insert
    type = models.CharField(max_length=48)
    org = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_api_key_id = models.UUIDField(null=True, blank=True)
    subject_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    subject_type = models.CharField(max_length=32, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["org", "-occurred_at"], name="audit_org_time_idx"),
            models.Index(fields=["org", "type", "-occurred_at"], name="audit_org_type_time_idx"),
            models.Index(fields=["subject_user", "-occurred_at"], name="audit_subject_user_time_idx"),
            models.Index(fields=["actor_user", "-occurred_at"], name="audit_actor_user_time_idx"),
            models.Index(fields=["subject_id"], name="audit_subject_idx"),
            models.Index(fields=["occurred_at"], name="audit_time_idx"),  # the retention purge
        ]

    def __str__(self) -> str:
        return f"{self.type} at {self.occurred_at}"


@receiver(post_delete, sender=Membership)
def _membership_deleted(sender, instance: Membership, origin=None, **kwargs) -> None:
    """A deleted membership has ended (its sessions went with it, by CASCADE). Not recorded when the
    whole org is being deleted: its events go with it."""
    if isinstance(origin, Organization) or getattr(origin, "model", None) is Organization:
        return
    audit_record(
        AuditEventType.MEMBERSHIP_ENDED,
        org_id=instance.org_id,
        subject_user_id=instance.user_id,
        subject=instance,
        details={"role": instance.role, "deleted": True},
    )
