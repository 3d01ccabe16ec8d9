"""Reads on organizations and memberships."""

from __future__ import annotations

import uuid

from django.db.models import Count, Q, Window

from core.postgres.base import Prepared
from core.sql import ModelColumns
from tenants.models import Membership, Organization
from tenants.rls.context import own_rows, own_rows_sql

_MEMBERSHIP = ModelColumns(Membership, "m")
_ORG = ModelColumns(Organization, "o")
_MEMBERSHIPS = Prepared(
    "authsvc_user_memberships",
    f"""
SELECT {_MEMBERSHIP.sql}, {_ORG.sql}
FROM tenants_membership m JOIN tenants_organization o ON o.id = m.org_id
WHERE m.user_id = %(own_user)s AND m.is_active
ORDER BY o.name, o.slug
""",  # noqa: S608 (column lists come from model metadata)
)

# The membership list as the user's own rows (tenants.rls.context.own_rows_sql): three statements, the
# list being the second. ``accounts.selectors`` sends it in the authentication's round trip.
USER_MEMBERSHIPS = own_rows_sql(_MEMBERSHIPS)


def memberships_from_rows(rows) -> list[Membership]:
    """The memberships (with their orgs) in the rows of ``USER_MEMBERSHIPS``'s list."""
    memberships = []
    for row in rows:
        membership = _MEMBERSHIP.instance(row)
        membership.org = _ORG.instance(row, _MEMBERSHIP.width)
        memberships.append(membership)
    return memberships


def user_memberships(*, user_id: uuid.UUID) -> list[Membership]:
    """Every active membership of a user, across orgs, with the org loaded: the user's own rows, read
    under RLS in one round trip (no cross-tenant role). For sign-in, ``me/`` and ``orgs/``."""
    return memberships_from_rows(own_rows(_MEMBERSHIPS, {}, user_id=user_id))


_MEMBER_USER_FIELDS = ("id", "email", "first_name", "last_name", "email_verified")  # UserSummarySerializer


def caller_memberships(request) -> list[Membership]:
    """The signed-in user's memberships: those read with the principal when the view asked for them
    (``principal_memberships``, accounts.authentication), else read now."""
    memberships = getattr(request.auth, "memberships", None)
    return memberships if memberships is not None else user_memberships(user_id=request.user.id)


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


def organization_members(
    *, org: Organization, search: str = "", limit: int | None = None, offset: int = 0
) -> tuple[list[Membership], int]:
    """A page of ``org``'s active members, oldest first, and how many match (read under RLS: the
    request's tenant context is ``org``). ``search`` matches part of an email or a name.

    One query: the total rides on each row of the page (``count(*) OVER ()``, computed before the
    LIMIT); only a page past the end needs a count of its own.
    """
    members = (
        Membership.objects.filter(org=org, is_active=True)
        .select_related("user")
        .only("id", "role", "joined_at", *(f"user__{name}" for name in _MEMBER_USER_FIELDS))
    )
    if search:
        members = members.filter(
            Q(user__email__icontains=search)
            | Q(user__first_name__icontains=search)
            | Q(user__last_name__icontains=search)
        )
    ordered = members.order_by("joined_at", "id")
    if limit is None:
        page = list(ordered)
        return page, len(page)
    page = list(ordered.annotate(total=Window(Count("*")))[offset : offset + limit])
    if page:
        return page, page[0].total
    return page, members.count() if offset else 0
