"""Reads on organizations and memberships."""

from __future__ import annotations

import uuid

from core.sql import ModelColumns
from tenants.models import Membership, Organization
from tenants.rls.context import cross_tenant_rows

_MEMBERSHIP = ModelColumns(Membership, "m")
_ORG = ModelColumns(Organization, "o")
_MEMBERSHIPS_SQL = f"""
SELECT {_MEMBERSHIP.sql}, {_ORG.sql}
FROM tenants_membership m JOIN tenants_organization o ON o.id = m.org_id
WHERE m.user_id = %s AND m.is_active
ORDER BY o.name, o.slug
"""  # noqa: S608 (column lists come from model metadata)


def user_memberships(*, user_id: uuid.UUID) -> list[Membership]:
    """Every active membership of a user, across orgs, with the org loaded (the cross-tenant path).

    On every sign-in and ``me/``: one round trip through ``cross_tenant_rows``.
    """
    memberships = []
    for row in cross_tenant_rows(_MEMBERSHIPS_SQL, [user_id]):
        membership = _MEMBERSHIP.instance(row)
        membership.org = _ORG.instance(row, _MEMBERSHIP.width)
        memberships.append(membership)
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


def organization_members(*, org: Organization) -> list[Membership]:
    """Active members of ``org`` (read under RLS: the request's tenant context is ``org``)."""
    return list(
        Membership.objects.filter(org=org, is_active=True).select_related("user").order_by("joined_at", "id")
    )
