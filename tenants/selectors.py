"""Reads on organizations and memberships."""

from __future__ import annotations

import uuid

from core.sql import ModelColumns
from tenants.db import cross_tenant_rows
from tenants.models import Organization, Profile

_PROFILE = ModelColumns(Profile, "p")
_ORG = ModelColumns(Organization, "o")
_MEMBERSHIPS_SQL = f"""
SELECT {_PROFILE.sql}, {_ORG.sql}
FROM tenants_profile p JOIN tenants_organization o ON o.id = p.org_id
WHERE p.user_id = %s AND p.is_active
ORDER BY o.name, o.slug
"""  # noqa: S608 (column lists come from model metadata)


def user_memberships(*, user_id: uuid.UUID) -> list[Profile]:
    """Every active membership of a user, across orgs, with the org loaded (the cross-tenant path).

    On every sign-in and ``me/``: one round trip through ``cross_tenant_rows``.
    """
    memberships = []
    for row in cross_tenant_rows(_MEMBERSHIPS_SQL, [user_id]):
        profile = _PROFILE.instance(row)
        profile.org = _ORG.instance(row, _PROFILE.width)
        memberships.append(profile)
    return memberships


def organization_lookup(*, reference: str) -> Organization | None:
    """An org by id or slug (orgs are not tenant rows: their names are public to members at sign-in)."""
    try:
        lookup = {"id": uuid.UUID(str(reference))}
    except ValueError:
        lookup = {"slug": str(reference).strip().lower()}
    try:
        return Organization.objects.get(**lookup)
    except Organization.DoesNotExist:
        return None


def organization_members(*, org: Organization) -> list[Profile]:
    """Active members of ``org`` (read under RLS: the request's tenant context is ``org``)."""
    return list(
        Profile.objects.filter(org=org, is_active=True).select_related("user").order_by("joined_at", "id")
    )
