"""Organizations (the tenants) and memberships (a user in an org, with a role)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from tenants.policy import MembershipRole, role_level
from tenants.rls.models import TenantScopedModel


class Organization(models.Model):
    """A tenant. Not itself under RLS: a user sees the names of the orgs they belong to at sign-in."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

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
