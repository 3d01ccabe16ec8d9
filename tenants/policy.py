"""The role policy, in one place: membership roles, their levels, what each may do, API-key scopes.

Roles, highest first: ``owner`` (100), ``admin`` (50), ``member`` (10) (API.md "Organizations").
``me/`` shows a member's ``role_level`` and ``permissions`` from here, and every org-scoped endpoint
asks this module, so a new resource or action is added once.
"""

from __future__ import annotations

from django.db import models

# amr values that are a second factor (RFC 8176): an authenticator's or a recovery code ("otp"), a passkey
# ("hwk"/"swk", multi-factor by itself: possession plus the user verification it did). Sessions carry
# them (accounts.tokens issues them; an org's require_mfa reads them).
SECOND_FACTOR_AMR = frozenset({"otp", "hwk", "swk"})
PASSKEY_AMR = frozenset({"hwk", "swk"})


class MembershipRole(models.TextChoices):
    """A member's role in an org (not a Postgres role: those live in ``tenants.rls.postgres_roles``)."""

    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"


ROLE_LEVELS: dict[str, int] = {MembershipRole.OWNER: 100, MembershipRole.ADMIN: 50, MembershipRole.MEMBER: 10}

_ADMIN_PERMISSIONS: dict[str, list[str]] = {
    "organization": ["read", "write"],
    "members": ["read", "write"],
    "invitations": ["read", "write"],
    "api_keys": ["read", "write"],
    "audit": ["read"],
}
PERMISSIONS: dict[str, dict[str, list[str]]] = {
    MembershipRole.OWNER: {**_ADMIN_PERMISSIONS, "organization": ["read", "write", "delete"]},
    MembershipRole.ADMIN: _ADMIN_PERMISSIONS,
    MembershipRole.MEMBER: {"organization": ["read"], "members": ["read"]},
}

# What an API key may be allowed to do (API.md "X-API-Key"); no scope lets a key manage keys.
API_KEY_SCOPES: tuple[str, ...] = (
    "members:read",
    "members:write",
    "invitations:read",
    "invitations:write",
    "audit:read",
)
API_KEY_DEFAULT_SCOPES: tuple[str, ...] = tuple(scope for scope in API_KEY_SCOPES if scope.endswith(":read"))


def role_level(role: str | None) -> int:
    """The level of ``role`` (0 for no role: a session without an org)."""
    return ROLE_LEVELS.get(role, 0) if role else 0


def role_permissions(role: str | None) -> dict[str, list[str]]:
    """``{resource: [actions]}`` for ``role`` (empty for no role)."""
    return PERMISSIONS.get(role, {}) if role else {}


def role_allows(role: str | None, resource: str, action: str) -> bool:
    return action in role_permissions(role).get(resource, ())


def scope_allows(scopes, resource: str, action: str) -> bool:
    """Whether an API key with ``scopes`` may do ``action`` on ``resource`` (``members:write`` …); no
    scope exists for the organization itself or for keys."""
    scope = f"{resource}:{action}"
    return scope in API_KEY_SCOPES and scope in scopes
