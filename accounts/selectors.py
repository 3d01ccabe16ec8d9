"""Reads: the authenticated principal (one round trip per request) and a user's sessions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from accounts.models import Session, User
from accounts.tokens import Claims
from core.sql import ModelColumns
from tenants.db import execute_in_org
from tenants.models import Organization, Profile


@dataclass(frozen=True)
class Principal:
    """Who is calling: set as ``request.auth`` by ``accounts.authentication``."""

    user: User
    session_id: uuid.UUID
    profile: Profile | None
    org: Organization | None


_USER = ModelColumns(User, "u")
_PROFILE = ModelColumns(Profile, "p")
_ORG = ModelColumns(Organization, "o")

# Runs after set_config in the same round trip (tenants.db.execute_in_org), so the profile join is
# evaluated under the claimed org's RLS scope.
_PRINCIPAL_SQL = f"""
SELECT {_USER.sql}, {_PROFILE.sql}, {_ORG.sql}
FROM accounts_session s
JOIN accounts_user u ON u.id = s.user_id
LEFT JOIN tenants_profile p ON p.id = s.profile_id
LEFT JOIN tenants_organization o ON o.id = s.active_org_id
WHERE s.id = %(sid)s AND s.user_id = %(user_id)s
  AND s.revoked_at IS NULL AND s.expires_at > now() AND u.is_active
  AND s.active_org_id IS NOT DISTINCT FROM %(org_id)s
  AND s.profile_id IS NOT DISTINCT FROM %(profile_id)s
  AND (s.profile_id IS NULL OR (p.id IS NOT NULL AND p.is_active))
"""  # noqa: S608 (column lists come from model metadata)


def principal_for_access(claims: Claims) -> Principal | None:
    """The live principal behind a verified access token, with ``app.current_org`` set; else ``None``.

    One round trip: the session is alive, the user active and, for an org-scoped token, the profile
    active in that org. Must run inside the request's transaction (the org setting is local to it).
    """
    with connection.cursor() as cursor:
        execute_in_org(cursor, claims.org_id, _PRINCIPAL_SQL, claims.identity_params())
        row = cursor.fetchone()
    if row is None:
        return None
    user = _USER.instance(row)
    profile = org = None
    if claims.profile_id is not None:
        profile = _PROFILE.instance(row, _USER.width)
        org = _ORG.instance(row, _USER.width + _PROFILE.width)
        profile.org = org
    return Principal(user=user, session_id=claims.session_id, profile=profile, org=org)


def user_sessions(*, user_id: uuid.UUID) -> list[Session]:
    """The user's live sessions, most recently used first."""
    return list(
        Session.objects.filter(
            user_id=user_id, revoked_at__isnull=True, expires_at__gt=timezone.now()
        ).order_by("-last_used_at", "-created_at")
    )
