"""The session (refresh family) after sign-in: rotation, switch-org and revocation."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.db.models.functions import Now
from django.utils import timezone

from accounts import tokens
from accounts.models import RevokeReason, Session, User, session_alive_sql
from accounts.services.sign_in import MfaEnabledMeanwhile, SignIn, session_open
from core.http import RequestMeta
from core.postgres.base import Prepared
from tenants.audit import AuditEventType, audit_record
from tenants.rls.context import execute_in_org

logger = logging.getLogger(__name__)

# --- Refresh rotation (RFC 9700 §4.14.2) ------------------------------------------------------------

# The session may continue: alive, its user active and its membership (if any) active and the user's
# own. The same rule as the per-request check (accounts.selectors), for a session aliased "s".
_SESSION_HOLDER_SQL = f"""
  {session_alive_sql("s")}
  AND EXISTS (SELECT 1 FROM accounts_user u WHERE u.id = s.user_id AND u.is_active)
  AND (s.membership_id IS NULL OR EXISTS (
        SELECT 1 FROM tenants_membership m
        WHERE m.id = s.membership_id AND m.is_active AND m.user_id = s.user_id
          AND m.org_id = s.active_org_id))
"""  # noqa: S608 (no user input in the text)
_ROTATED_FIELDS = (
    "id",
    "user_id",
    "membership_id",
    "active_org_id",
    "amr",
    "issued_at",
    "expires_at",
    "refresh_jti",
    "access_jti",
)
_ROTATE = Prepared(
    "authsvc_refresh_rotate",
    f"""
UPDATE accounts_session AS s
SET previous_refresh_jti = s.refresh_jti, refresh_jti = %(new_refresh)s, access_jti = %(new_access)s,
    issued_at = %(issued_at)s, rotated_at = now(), last_used_at = now()
WHERE s.id = %(sid)s AND s.user_id = %(user_id)s AND s.refresh_jti = %(jti)s
  AND s.active_org_id IS NOT DISTINCT FROM %(org_id)s
  AND s.membership_id IS NOT DISTINCT FROM %(membership_id)s
  AND {_SESSION_HOLDER_SQL}
RETURNING {", ".join(f"s.{field}" for field in _ROTATED_FIELDS)}
""",  # noqa: S608 (no user input in the text)
)
_GRACE_HOLDER_SQL = (
    f"SELECT EXISTS (SELECT 1 FROM accounts_session s WHERE s.id = %s AND {_SESSION_HOLDER_SQL})"  # noqa: S608
)


def session_refresh(*, raw_refresh: Any, meta: RequestMeta) -> tokens.TokenPair:
    """Spend a refresh token and return its successor pair, in the same session.

    * The live token: one conditional ``UPDATE … RETURNING`` (with the tenant context folded into the
      same round trip) spends it, so concurrent refreshes cannot fork the session; the user and the
      membership are re-checked in the same statement.
    * The token spent just before, presented again within ``JWT_REFRESH_REUSE_GRACE_SECONDS``: two
      tabs raced; both get the **same** successor pair (re-derived from the row, see ``tokens``). Each
      such hit is logged with the user, session, IP and user agent.
    * Any other spent token: replay. The whole session is revoked (committed) and the answer is 401.

    Runs outside the request transaction: the revocation must persist although the response is an error.
    """
    claims = tokens.decode_refresh(raw_refresh)
    with transaction.atomic():
        with connection.cursor() as cursor:
            execute_in_org(
                cursor,
                claims.org_id,
                [_ROTATE],
                {
                    **claims.identity_params(),
                    "jti": claims.jti,
                    "new_refresh": uuid.uuid4(),
                    "new_access": uuid.uuid4(),
                    "issued_at": int(timezone.now().timestamp()),
                },
            )
            row = cursor.fetchone()
        if row is not None:
            return tokens.pair_for_session(Session(**dict(zip(_ROTATED_FIELDS, row, strict=True))))
        grace = timedelta(seconds=settings.JWT_REFRESH_REUSE_GRACE_SECONDS)
        session = (
            Session.objects.select_for_update()
            .filter(id=claims.session_id, user_id=claims.user_id)
            .alive()
            # The database's clock, the one that wrote rotated_at, decides the grace window.
            .annotate(
                in_grace=ExpressionWrapper(Q(rotated_at__gte=Now() - grace), output_field=BooleanField())
            )
            .first()
        )
        if session is None:
            raise tokens.InvalidToken()
        racing_duplicate = session.previous_refresh_jti == claims.jti and bool(session.in_grace)
        if racing_duplicate and _session_holder_allowed(session):
            logger.info(
                "refresh grace hit: session %s of user %s, ip %s, user agent %r",
                session.id,
                session.user_id,
                meta.ip,
                meta.user_agent,
            )
            _record_session_event(AuditEventType.SESSION_REFRESH_GRACE, session, meta)
            return tokens.pair_for_session(session)
        if racing_duplicate or session.refresh_jti == claims.jti:
            reason = RevokeReason.ACCESS_LOST  # the user was deactivated or the membership ended
        else:
            reason = RevokeReason.REFRESH_REUSE
        Session.objects.filter(id=session.id).revoke(reason=reason)
        if reason == RevokeReason.REFRESH_REUSE:  # committed with the revocation, below
            _record_session_event(AuditEventType.SESSION_REFRESH_REUSED, session, meta)
    if reason == RevokeReason.REFRESH_REUSE:
        logger.warning(
            "refresh token reuse: session %s of user %s revoked (ip %s, user agent %r)",
            session.id,
            session.user_id,
            meta.ip,
            meta.user_agent,
        )
    raise tokens.InvalidToken()


def _record_session_event(event: AuditEventType, session: Session, meta: RequestMeta) -> None:
    """A user-level event about one of their sessions (shown in every org of the user)."""
    audit_record(
        event,
        actor_user_id=session.user_id,
        subject_user_id=session.user_id,
        subject=session,
        details={"session_org_id": str(session.active_org_id) if session.active_org_id else None},
        meta=meta,
    )


def _session_holder_allowed(session: Session) -> bool:
    """The session may continue (see ``_SESSION_HOLDER_SQL``); the org context is already set."""
    with connection.cursor() as cursor:
        cursor.execute(_GRACE_HOLDER_SQL, [session.id])
        return bool(cursor.fetchone()[0])


# --- Switch-org and revocation ---------------------------------------------------------------------


@transaction.atomic(savepoint=False)
def switch_org(
    *,
    user: User,
    session_id: uuid.UUID,
    amr: list[str],
    authenticated_at: datetime | None,
    org_id: uuid.UUID,
    meta: RequestMeta,
) -> SignIn:
    """A new session scoped to ``org_id``; the caller's session is revoked (its pair dies at once).

    The new session keeps how and when the caller's session signed in (``amr``, ``authenticated_at``):
    switching proves nothing new, so it neither adds a factor nor counts as a recent sign-in (step-up).
    """
    # The caller's session first: if a logout or revocation got there before us, nothing is issued.
    if not session_revoke(user_id=user.id, session_id=session_id, reason=RevokeReason.SWITCH_ORG):
        raise tokens.InvalidToken("The session of this token has ended.")
    try:
        result, session = session_open(
            user=user, amr=amr, meta=meta, org_reference=str(org_id), authenticated_at=authenticated_at
        )
    except MfaEnabledMeanwhile:  # the enrolment that committed first ends this session: never carry it on
        raise tokens.InvalidToken("The session of this token has ended.") from None
    audit_record(
        AuditEventType.SESSION_SWITCHED_ORG,
        org_id=session.active_org_id,
        actor_user_id=user.pk,
        subject_user_id=user.pk,
        subject=session,
        details={"previous_session_id": str(session_id)},
        meta=meta,
    )
    return result


# What a revocation is called in the audit log (switch-org records its own event).
_REVOCATION_EVENTS = {
    RevokeReason.LOGOUT: AuditEventType.SESSION_LOGGED_OUT,
    RevokeReason.LOGOUT_ALL: AuditEventType.SESSION_LOGGED_OUT_ALL,
    RevokeReason.REVOKED_BY_USER: AuditEventType.SESSION_REVOKED,
    RevokeReason.ADMIN: AuditEventType.SESSION_REVOKED,
    RevokeReason.ACCOUNT_CLAIMED: AuditEventType.SESSION_REVOKED,
    RevokeReason.MFA_ENABLED: AuditEventType.SESSION_REVOKED,
}


def _record_revocation(
    reason: str, *, user_id: uuid.UUID, count: int, session_id: uuid.UUID | None = None
) -> None:
    event = _REVOCATION_EVENTS.get(reason)
    if event is None or count == 0:
        return
    details: dict = {"reason": str(reason), "sessions_revoked": count}
    if session_id is not None:
        details["session_id"] = str(session_id)
    audit_record(event, subject_user_id=user_id, details=details)


@transaction.atomic(savepoint=False)
def session_revoke(*, user_id: uuid.UUID, session_id: uuid.UUID, reason: str) -> bool:
    """Revoke one live session of a user; ``False`` when it is not theirs or not alive."""
    count = Session.objects.filter(id=session_id, user_id=user_id).alive().revoke(reason=reason)
    _record_revocation(reason, user_id=user_id, count=count, session_id=session_id)
    return count > 0


@transaction.atomic(savepoint=False)
def sessions_revoke_for_user(*, user_id: uuid.UUID, reason: str, keep: uuid.UUID | None = None) -> int:
    """Revoke every session of a user (but ``keep``): logout-all, the admin's sign-out-everywhere.

    The user row is locked first, so a sign-in in flight either finishes before (and its session is
    revoked here) or waits and starts after (accounts.services.sign_in._lock_session_holder)."""
    list(User.objects.select_for_update(no_key=True).filter(pk=user_id).values_list("pk", flat=True))
    sessions = Session.objects.filter(user_id=user_id)
    if keep is not None:
        sessions = sessions.exclude(id=keep)
    count = sessions.revoke(reason=reason)
    _record_revocation(reason, user_id=user_id, count=count)
    return count


@transaction.atomic(savepoint=False)
def sessions_revoke(*, session_ids: list[uuid.UUID], reason: str) -> int:
    """Revoke the given sessions, whoever they belong to (the admin's action): one event per session."""
    owners = dict(
        Session.objects.filter(id__in=session_ids, revoked_at__isnull=True).values_list("id", "user_id")
    )
    count = Session.objects.filter(id__in=owners).revoke(reason=reason)
    for session_id, user_id in owners.items():
        _record_revocation(reason, user_id=user_id, count=1, session_id=session_id)
    return count
