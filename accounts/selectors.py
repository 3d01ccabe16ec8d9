"""Reads: the authenticated principal (one round trip per request) and a user's sessions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from accounts.models import Session, User, session_alive_sql
from accounts.tokens import Claims
from core.postgres.base import Prepared
from core.sql import ModelColumns
from tenants.models import Membership, Organization
from tenants.rls.context import execute_in_org
from tenants.selectors import USER_MEMBERSHIPS, memberships_from_rows


@dataclass(frozen=True)
class Principal:
    """Who is calling: set as ``request.auth`` by ``accounts.authentication``."""

    user: User
    session_id: uuid.UUID
    amr: list[str]  # how the session signed in
    membership: Membership | None
    org: Organization | None
    authenticated_at: datetime | None = None  # its sign-in or last reauthenticate/ (step-up)
    # All the user's active memberships, when the view asked for them with the principal (me/, orgs/)
    memberships: list[Membership] | None = None


_USER = ModelColumns(User, "u")
_MEMBERSHIP = ModelColumns(Membership, "m")
_ORG = ModelColumns(Organization, "o")

# Runs after set_config in the same round trip (tenants.rls.context.execute_in_org), so the membership
# join is evaluated under the claimed org's RLS scope. The membership must be the session user's own.
_PRINCIPAL = Prepared(
    "authsvc_principal",
    f"""
SELECT {_USER.sql}, {_MEMBERSHIP.sql}, {_ORG.sql}, s.amr, s.authenticated_at
FROM accounts_session s
JOIN accounts_user u ON u.id = s.user_id
LEFT JOIN tenants_membership m ON m.id = s.membership_id
LEFT JOIN tenants_organization o ON o.id = s.active_org_id
WHERE s.id = %(sid)s AND s.user_id = %(user_id)s
  AND {session_alive_sql("s")} AND u.is_active
  AND s.active_org_id IS NOT DISTINCT FROM %(org_id)s
  AND s.membership_id IS NOT DISTINCT FROM %(membership_id)s
  AND (s.membership_id IS NULL OR (m.is_active AND m.user_id = s.user_id AND m.org_id = s.active_org_id))
""",  # noqa: S608 (column lists come from model metadata)
)


_PRINCIPAL_WITH_MEMBERSHIPS = (_PRINCIPAL, *USER_MEMBERSHIPS)


def principal_for_access(claims: Claims, *, with_memberships: bool = False) -> Principal | None:
    """The live principal behind a verified access token, with ``app.current_org`` set; else ``None``.

    One round trip (with the transaction's ``BEGIN`` when it is the request's first statement): the
    session is alive, the user active and, for an org-scoped token, the membership active, the user's
    own and in that org. ``with_memberships`` lists the user's memberships in the same message (read as
    their own rows; dropped unless the principal is alive). Must run inside the request's transaction
    (the org setting is local to it).
    """
    params = claims.identity_params()
    with connection.cursor() as cursor:
        if with_memberships:
            params["own_user"] = str(claims.user_id)
            execute_in_org(cursor, claims.org_id, _PRINCIPAL_WITH_MEMBERSHIPS, params)
        else:
            execute_in_org(cursor, claims.org_id, [_PRINCIPAL], params)
        row = cursor.fetchone()
        if row is None:
            return None
        memberships = None
        if with_memberships:
            cursor.nextset()  # past set_config
            cursor.nextset()
            memberships = memberships_from_rows(cursor.fetchall())
    user = _USER.instance(row)
    membership = org = None
    if claims.membership_id is not None:
        membership = _MEMBERSHIP.instance(row, _USER.width)
        org = _ORG.instance(row, _USER.width + _MEMBERSHIP.width)
        membership.org = org
    return Principal(
        user=user,
        session_id=claims.session_id,
        amr=row[-2],
        membership=membership,
        org=org,
        authenticated_at=row[-1],
        memberships=memberships,
    )


def user_sessions(*, user_id: uuid.UUID) -> list[Session]:
    """The user's live sessions, most recently used first."""
    return list(Session.objects.filter(user_id=user_id).alive().order_by("-last_used_at", "-created_at"))
