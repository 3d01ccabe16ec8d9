"""The security audit log: the event vocabulary and :func:`audit_record`, the one function that writes.

Every flow records its events here, in the same transaction as the change it records (a rolled-back
change leaves no event). Failures and replays must be kept although their request fails: they pass
``durable=True`` and are written in a short transaction of their own, outside any other (the caller
runs outside the request transaction, as ``refresh/`` and the sign-in views do).

Who and from where: the caller may say; otherwise the current request (set by
:class:`AuditRequestMiddleware`) gives the IP, the user agent and the signed-in user as the actor, so a
model-level rule (a password changed by any route) is attributed without threading the request through.

Details never hold a secret: no token, key, code or password, not even a prefix of one.
:func:`audit_record` refuses detail keys that look like one.
"""

from __future__ import annotations

import contextvars
import re
import uuid
from typing import Any

from django.db import connection, models, transaction
from psycopg.types.json import Jsonb

from core.http import RequestMeta
from tenants.rls.context import execute_once_in_org


class AuditEventType(models.TextChoices):
    """The fixed vocabulary of audit events (README, "Audit log")."""

    # details: method (password, oauth_token, registration, magic_link, google, password_change, devlogin), amr
    SIGN_IN_SUCCEEDED = "sign_in.succeeded"
    SIGN_IN_FAILED = "sign_in.failed"  # details: method, reason (kept internal: never in a response)
    SIGN_IN_THROTTLED = "sign_in.throttled"  # one per bucket and window, at its first refusal
    USER_REGISTERED = "user.registered"
    USER_PASSWORD_CHANGED = "user.password_changed"
    USER_PASSWORD_RESET = "user.password_reset"  # a password set through an emailed reset link
    USER_EMAIL_VERIFIED = (
        "user.email_verified"  # details: via (verification_link, magic_link, password_reset)
    )
    # The owner of an unverified account's address proved it: what the registrant set up was removed
    # (details: via, removed: password, sessions, passkeys, identities, mfa)
    USER_ACCOUNT_CLAIMED = "user.account_claimed"
    USER_DEACTIVATED = "user.deactivated"
    USER_REACTIVATED = "user.reactivated"
    SESSION_REFRESH_REUSED = "session.refresh_reused"  # a replayed refresh token: the session is revoked
    SESSION_REFRESH_GRACE = "session.refresh_grace"  # a racing duplicate got the same successor pair
    SESSION_SWITCHED_ORG = "session.switched_org"
    SESSION_LOGGED_OUT = "session.logged_out"
    SESSION_LOGGED_OUT_ALL = "session.logged_out_all"
    SESSION_REVOKED = "session.revoked"  # by the user (sessions/ DELETE) or an admin
    ORG_CREATED = "org.created"
    MEMBERSHIP_CREATED = "membership.created"
    MEMBERSHIP_ROLE_CHANGED = "membership.role_changed"
    MEMBERSHIP_ENDED = "membership.ended"
    MEMBERSHIP_REACTIVATED = "membership.reactivated"
    MEMBERSHIP_REMOVED = "membership.removed"  # by an admin (DELETE org/members/<id>/)
    MEMBERSHIP_LEFT = "membership.left"  # the member themselves (org/leave/)
    ORG_RENAMED = "org.renamed"
    ORG_DELETED = "org.deleted"  # user-level (the org's own events go with it): details.org_id, name
    # Invitations (details.email, role; never the token)
    INVITATION_CREATED = "invitation.created"
    INVITATION_RESENT = "invitation.resent"
    INVITATION_REVOKED = "invitation.revoked"
    INVITATION_ACCEPTED = "invitation.accepted"
    INVITATION_REFUSED = "invitation.refused"  # a used, revoked or expired token presented (details.status)
    # Emailed links (details: sent, and the address when it has no account; never the token or code)
    MAGIC_LINK_REQUESTED = "magic_link.requested"
    MAGIC_LINK_CODE_EXHAUSTED = "magic_link.code_exhausted"  # the emailed code died after too many misses
    EMAIL_VERIFICATION_REQUESTED = "email.verification_requested"
    PASSWORD_RESET_REQUESTED = "password.reset_requested"
    # API keys (details.name, prefix; never the key)
    API_KEY_CREATED = "api_key.created"
    API_KEY_ROLLED = "api_key.rolled"
    API_KEY_REVOKED = "api_key.revoked"
    API_KEY_REFUSED = "api_key.refused"  # a revoked or expired key used (at most one a minute per key)
    # External identities (Google): details.provider
    IDENTITY_LINKED = "identity.linked"
    IDENTITY_UNLINKED = "identity.unlinked"
    # Cookie mode: a refresh cookie presented from an Origin not in CORS_ALLOWED_ORIGINS (details.endpoint,
    # origin); nothing was spent
    REFRESH_COOKIE_ORIGIN_REFUSED = "refresh_cookie.origin_refused"
    # Multi-factor authentication (accounts.services.mfa); details.method: totp or recovery_code
    MFA_ENROLLED = "mfa.enrolled"
    MFA_DISABLED = "mfa.disabled"
    MFA_VERIFICATION_FAILED = "mfa.verification_failed"  # details.context: sign_in, reauthenticate, disable
    MFA_RECOVERY_CODE_USED = "mfa.recovery_code_used"
    MFA_RECOVERY_CODES_REGENERATED = "mfa.recovery_codes_regenerated"
    MFA_RESET_BY_ADMIN = "mfa.reset_by_admin"
    # MFA_MAX_FAILED_CODES wrong codes in a row: codes refused for a while (details: context, failed,
    # lockouts, minutes); the user is emailed
    MFA_LOCKED = "mfa.locked"
    # Passkeys (passkeys.services): the subject is the passkey, details.name; refused: details.ceremony and
    # reason (never in a response)
    PASSKEY_REGISTERED = "passkey.registered"
    PASSKEY_USED = "passkey.used"
    PASSKEY_RENAMED = "passkey.renamed"
    PASSKEY_DELETED = "passkey.deleted"
    PASSKEY_REFUSED = "passkey.refused"
    SESSION_REAUTHENTICATED = "session.reauthenticated"  # step-up (details.method: password, totp, ...)
    ORG_MFA_POLICY_CHANGED = "org.mfa_policy_changed"  # details.require_mfa
    # `manage.py jwt_rotate_key`: details.algorithm, kid (the new key), previous_kids (still verifying)
    SIGNING_KEY_ROTATED = "signing_key.rotated"


# --- Who and from where: the current request ---------------------------------------------------------

_current_request: contextvars.ContextVar = contextvars.ContextVar("audit_request", default=None)


class AuditRequestMiddleware:
    """Makes the current request known to :func:`audit_record` (after authentication middleware; DRF
    sets ``request.user`` on the Django request once its authentication has run)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        token = _current_request.set(request)
        try:
            response = self.get_response(request)
            # The request's transaction is over (committed or rolled back): what was deferred is kept now.
            for event, kwargs in request.__dict__.pop("_audit_after_request", ()):
                audit_record(event, durable=True, **kwargs)
            return response
        finally:
            _current_request.reset(token)


def _request_api_key_id(request) -> uuid.UUID | None:
    return getattr(getattr(request, "auth", None), "api_key_id", None)


def _request_actor_id(request) -> uuid.UUID | None:
    user = getattr(request, "user", None)
    return user.pk if user is not None and getattr(user, "is_authenticated", False) else None


def audit_record_after_request(event: AuditEventType, **kwargs: Any) -> None:
    """:func:`audit_record` once the current request is answered, in a transaction of its own, whatever
    becomes of the request's: for a refusal found inside the request transaction (a revoked API key),
    which the 401 rolls back. Outside a request it records at once."""
    request = _current_request.get()
    if request is None:
        audit_record(event, **kwargs)
        return
    meta = kwargs.pop("meta", None) or RequestMeta.from_request(request)
    request.__dict__.setdefault("_audit_after_request", []).append((event, {**kwargs, "meta": meta}))


# --- The one writer ------------------------------------------------------------------------------------

_FROM_REQUEST: Any = object()
_SECRET_KEY = re.compile(r"token|password|secret|passphrase|key|code|otp|hash|jwt|cookie", re.IGNORECASE)
_COLUMNS = (
    "id",
    "occurred_at",
    "type",
    "org_id",
    "actor_user_id",
    "actor_api_key_id",
    "subject_user_id",
    "subject_type",
    "subject_id",
    "ip",
    "user_agent",
    "details",
)
_INSERT_SQL = (
    f"INSERT INTO tenants_auditevent ({', '.join(_COLUMNS)}) VALUES ("  # noqa: S608 (fixed text)
    "%(id)s, clock_timestamp(), %(type)s, %(org_id)s, %(actor_user_id)s, %(actor_api_key_id)s, "
    "%(subject_user_id)s, %(subject_type)s, %(subject_id)s, %(ip)s, %(user_agent)s, %(details)s)"
)


def _check_details(details: dict[str, Any]) -> None:
    for key, value in details.items():
        if _SECRET_KEY.search(key):
            raise ValueError(f"audit details must not carry secrets: {key!r}")
        if isinstance(value, dict):
            _check_details(value)


def audit_record(
    event: AuditEventType,
    *,
    org_id: uuid.UUID | None = None,
    actor_user_id: uuid.UUID | None = _FROM_REQUEST,
    actor_api_key_id: uuid.UUID | None = _FROM_REQUEST,
    subject_user_id: uuid.UUID | None = None,
    subject: models.Model | None = None,
    details: dict[str, Any] | None = None,
    meta: RequestMeta | None = None,
    durable: bool = False,
) -> None:
    """Record ``event``: one INSERT (one round trip), under ``org_id``'s RLS scope when given.

    * ``actor_user_id``: who did it; by default the current request's signed-in user, if any.
    * ``subject_user_id`` / ``subject``: to whom or what (a session, an org, a membership).
    * ``org_id``: the org the event belongs to; ``None`` for a user-level event, shown in every org of
      ``subject_user_id`` (RLS policy ``audit_member_events``).
    * ``meta``: IP and user agent; by default the current request's.
    * ``durable``: write in a transaction of its own, committed at once (the caller must not be inside
      one: ``transaction.atomic(durable=True)`` refuses). For failures whose request is refused.
    """
    details = dict(details or {})
    _check_details(details)
    request = _current_request.get()
    if meta is None and request is not None:
        meta = RequestMeta.from_request(request)
    if actor_user_id is _FROM_REQUEST:
        actor_user_id = _request_actor_id(request) if request is not None else None
    if actor_api_key_id is _FROM_REQUEST:  # a key acting: the key is the actor (it has no user)
        actor_api_key_id = _request_api_key_id(request) if request is not None else None
    params = {
        "id": uuid.uuid4(),
        "type": str(event),
        "org_id": org_id,
        "actor_user_id": actor_user_id,
        "actor_api_key_id": actor_api_key_id,
        "subject_user_id": subject_user_id,
        "subject_type": subject._meta.model_name if subject is not None else "",
        "subject_id": str(subject.pk) if subject is not None else "",
        "ip": meta.ip if meta else None,
        "user_agent": meta.user_agent if meta else "",
        "details": Jsonb(details),
    }
    with transaction.atomic(savepoint=False, durable=durable), connection.cursor() as cursor:
        execute_once_in_org(cursor, org_id, _INSERT_SQL, params)
