"""Keys: create, list, revoke, roll; and the lookup the authentication makes."""

from __future__ import annotations

import secrets
import string
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from apikeys.models import KEY_PREFIX, ApiKey
from core.errors import InvalidInput, NotFound
from core.secrets import digests_match, secret_digest, secret_digests, token_new
from tenants.audit import AuditEventType, audit_record
from tenants.policy import API_KEY_DEFAULT_SCOPES, API_KEY_SCOPES
from tenants.rls.context import cross_tenant_enter, cross_tenant_entry

PUBLIC_ID_ALPHABET = string.ascii_letters + string.digits
PUBLIC_ID_LENGTH = 8
_PUBLIC_ID_CHARACTERS = frozenset(PUBLIC_ID_ALPHABET)
DIGEST_PURPOSE = "api_key"


class ApiKeyNotFound(NotFound):
    default_code = "api_key_not_found"
    default_detail = "No such API key."


def scopes_clean(scopes: Sequence[str] | None) -> list[str]:
    """The key's scopes: the read scopes when omitted; 400 ``unknown_scope`` for one outside the vocabulary."""
    if scopes is None:
        return list(API_KEY_DEFAULT_SCOPES)
    unknown = sorted(set(scopes) - set(API_KEY_SCOPES))
    if unknown:
        raise InvalidInput(f"Unknown scope(s): {', '.join(unknown)}.", code="unknown_scope")
    return sorted(set(scopes))


def _new_key() -> tuple[str, str, str]:
    """(public id, secret, the full key)."""
    public_id = "".join(secrets.choice(PUBLIC_ID_ALPHABET) for _ in range(PUBLIC_ID_LENGTH))
    secret = token_new()
    return public_id, secret, f"{KEY_PREFIX}_{public_id}_{secret}"


def _record(event: AuditEventType, key: ApiKey, **details) -> None:
    audit_record(
        event, org_id=key.org_id, subject=key, details={"name": key.name, "prefix": key.prefix, **details}
    )


@transaction.atomic(savepoint=False)
def api_key_create(
    *, org_id: uuid.UUID, name: str, scopes: Sequence[str] | None, expires_at: datetime | None, created_by_id
) -> tuple[ApiKey, str]:
    """A new key; returns it and the full key string, which is never stored (shown once)."""
    public_id, secret, full = _new_key()
    key = ApiKey.objects.create(
        org_id=org_id,
        name=name,
        public_id=public_id,
        digest=secret_digest(secret, purpose=DIGEST_PURPOSE),
        scopes=scopes_clean(scopes),
        created_by_id=created_by_id,
        expires_at=expires_at,
    )
    _record(AuditEventType.API_KEY_CREATED, key, scopes=key.scopes)
    return key, full


def _locked(org_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey:
    key = ApiKey.objects.select_for_update().filter(org_id=org_id, pk=key_id).first()
    if key is None:
        raise ApiKeyNotFound()
    return key


@transaction.atomic(savepoint=False)
def api_key_revoke(*, org_id: uuid.UUID, key_id: uuid.UUID) -> None:
    """Revoke a key: refused from its next request. Revoking twice is fine."""
    api_key_end(_locked(org_id, key_id))


def api_key_end(key: ApiKey, **details) -> None:
    """Revoke ``key`` (a locked row) unless it is revoked already, and record it with ``details`` (an
    admin's revocation, or its creator's account claimed: ``apikeys.receivers``)."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        _record(AuditEventType.API_KEY_REVOKED, key, **details)


@transaction.atomic(savepoint=False)
def api_key_roll(
    *, org_id: uuid.UUID, key_id: uuid.UUID, expires_in_hours: int, created_by_id
) -> tuple[ApiKey, str]:
    """A new key with the same name and scopes; the old one keeps working for ``expires_in_hours``
    (0: stops at once), so a deployment can switch without downtime."""
    old = _locked(org_id, key_id)
    if not old.active:
        raise ApiKeyNotFound("No such active API key.")
    key, full = api_key_create(
        org_id=org_id,
        name=old.name,
        scopes=old.scopes,
        expires_at=old.expires_at,
        created_by_id=created_by_id,
    )
    ends = timezone.now() + timedelta(hours=expires_in_hours)
    if old.expires_at is None or old.expires_at > ends:
        old.expires_at = ends
        old.save(update_fields=["expires_at"])
    _record(
        AuditEventType.API_KEY_ROLLED,
        old,
        successor=key.prefix,
        old_expires_at=old.expires_at.isoformat(),
    )
    return key, full


# --- Authentication ----------------------------------------------------------------------------------

_LOOKUP_SQL = (
    "SELECT k.org_id, k.id, k.name, k.digest, k.scopes, k.expires_at, k.revoked_at, k.last_used_at, "
    "o.name, o.slug FROM apikeys_apikey k JOIN tenants_organization o ON o.id = k.org_id "
    "WHERE k.public_id = %(public_id)s"
)
_LOOKUP = cross_tenant_entry("authsvc_api_key_lookup", _LOOKUP_SQL)


def key_parse(raw: str) -> tuple[str, str] | None:
    """``authsvc_<public id>_<secret>`` → (public id, secret); ``None`` when it has not that shape."""
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no key of ours
        return None
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != PUBLIC_ID_LENGTH or not parts[2]:
        return None
    if not set(parts[1]) <= _PUBLIC_ID_CHARACTERS:  # never a NUL (or anything else) into the lookup's SQL
        return None
    return parts[1], parts[2]


def key_lookup(raw: str) -> tuple[tuple | None, str]:
    """The key's row (org id, id, name, digest, scopes, expires_at, revoked_at, last_used_at, org name,
    org slug) when ``raw`` is a key whose secret matches, and the transaction entered into its org (one
    round trip); ``(None, reason)`` otherwise: ``unknown``, ``revoked``, ``expired``."""
    parsed = key_parse(raw)
    if parsed is None:
        return None, "unknown"
    public_id, secret = parsed
    rows = cross_tenant_enter(_LOOKUP, {"public_id": public_id})
    # Under DJANGO_SECRET_KEY_FALLBACKS too: rotating the secret key must not kill every server's key.
    digests = secret_digests(secret, purpose=DIGEST_PURPOSE)
    if not rows or not any(digests_match(rows[0][3], digest) for digest in digests):
        return None, "unknown"
    row = rows[0]
    if row[6] is not None:
        return row, "revoked"
    if row[5] is not None and row[5] <= timezone.now():
        return row, "expired"
    return row, ""


LAST_USED_EVERY = timedelta(minutes=1)
_TOUCH_SQL = (
    "UPDATE apikeys_apikey SET last_used_at = %(now)s WHERE id = (SELECT id FROM apikeys_apikey "
    "WHERE id = %(id)s AND (last_used_at IS NULL OR last_used_at <= %(now)s - %(every)s) FOR UPDATE SKIP LOCKED)"
)


def key_touch(key_id: uuid.UUID, last_used_at: datetime | None) -> None:
    """Record the key's use, at most once a minute (a cheap write, under the key's org scope)."""
    now = timezone.now()
    if last_used_at is None or now - last_used_at >= LAST_USED_EVERY:
        # SKIP LOCKED: a concurrent request of the same key touching it already is enough; none waits.
        with connection.cursor() as cursor:
            cursor.execute(_TOUCH_SQL, {"id": key_id, "now": now, "every": LAST_USED_EVERY})
