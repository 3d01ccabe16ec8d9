"""Reads on organizations and memberships."""

from __future__ import annotations

import uuid

from tenants.db import cross_tenant
from tenants.models import Organization, Profile


def user_memberships(*, user_id: uuid.UUID) -> list[Profile]:
    """Every active membership of a user, across orgs, with the org loaded (the cross-tenant path)."""
    with cross_tenant():
        return list(
            Profile.objects.filter(user_id=user_id, is_active=True, org__isnull=False)
            .select_related("org")
            .order_by("org__name", "org__slug")
        )


def organization_lookup(*, reference: str) -> Organization | None:
    """An org by id or slug (orgs are not tenant rows: their names are public to members at sign-in)."""
    try:
        return Organization.objects.filter(id=uuid.UUID(str(reference))).first()
    except ValueError:
        return Organization.objects.filter(slug=str(reference).strip().lower()).first()


def organization_members(*, org: Organization) -> list[Profile]:
    """Active members of ``org`` (read under RLS: the request's tenant context is ``org``)."""
    return list(
        Profile.objects.filter(org=org, is_active=True).select_related("user").order_by("joined_at", "id")
    )
