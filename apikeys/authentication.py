"""``X-API-Key`` authentication: the key itself is the principal (no user), acting in its org with RLS
exactly as a Bearer token of that org; its scopes decide what it may call (``tenants.api.permissions``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django.core.cache import cache
from rest_framework.authentication import BaseAuthentication

from accounts.authentication import AmbiguousCredentials
from apikeys import services
from core.errors import Unauthenticated
from tenants.audit import AuditEventType, audit_record_after_request
from tenants.models import Membership, Organization
from tenants.policy import MembershipRole
from tenants.rls.context import leave_org

HEADER = "HTTP_X_API_KEY"


class InvalidApiKey(Unauthenticated):
    default_code = "invalid_api_key"
    default_detail = "Unknown, revoked or expired API key."


class KeyUser:
    """``request.user`` for a key: authenticated, but nobody (``pk`` None, no email)."""

    pk = id = None
    email = ""
    is_authenticated = True
    is_active = True
    is_staff = is_superuser = False

    def __bool__(self) -> bool:
        return True


@dataclass(frozen=True)
class KeyPrincipal:
    """``request.auth`` for a key. ``membership`` is an unsaved stand-in with the admin role, the ceiling
    of what a key may do in its org's services; its scopes narrow that (``role_may``)."""

    api_key_id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    org: Organization
    membership: Membership = field(repr=False)
    amr: tuple = ()
    session_id = None


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        raw = request.META.get(HEADER)
        if raw is None:
            return None
        if request.META.get("HTTP_AUTHORIZATION"):
            raise AmbiguousCredentials()
        row, refusal = services.key_lookup(raw.strip())
        if row is None or refusal:
            if row is not None:
                _record_refusal(row, refusal)
            # Security decision: the lookup enters the org of the row it finds before the secret is
            # compared (a known public id with a wrong secret gets that far, as do revoked and expired
            # keys), and the 401 only rolls it back at the end: leave it now, on every refusal.
            leave_org()
            raise InvalidApiKey()
        org_id, key_id, name, _, scopes, _, _, last_used_at, org_name, org_slug = row
        services.key_touch(key_id, last_used_at)
        org = Organization(id=org_id, name=org_name, slug=org_slug)
        # What a key may grant is a member's: it can manage members, never make an admin (or invite one),
        # so a leaked key cannot raise up a human with more power than it has.
        membership = Membership(org=org, user_id=None, role=MembershipRole.MEMBER)
        principal = KeyPrincipal(
            api_key_id=key_id, name=name, prefix=f"{services.KEY_PREFIX}_{raw.split('_')[1]}", scopes=list(scopes),
            org=org, membership=membership,
        )  # fmt: skip
        return KeyUser(), principal

    def authenticate_header(self, request) -> str:
        return 'ApiKey header="X-API-Key"'


def _record_refusal(row, reason: str) -> None:
    """A revoked or expired key used: recorded once a minute per key at most (a misbehaving client cannot
    flood the log), after the request, which the 401 rolls back."""
    org_id, key_id = row[0], row[1]
    if not cache.add(f"apikey:refused:{key_id}", 1, timeout=60):
        return
    audit_record_after_request(
        AuditEventType.API_KEY_REFUSED,
        org_id=org_id,
        actor_user_id=None,
        actor_api_key_id=key_id,
        details={"reason": reason},
    )
