"""Sign-in: every way in ends in :func:`sign_in`, which opens a session and issues its pair."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts import tokens
from accounts.models import Session, User
from accounts.services.mfa import MfaRequired, challenge_start, second_factor_required
from accounts.services.passwords import InvalidCredentials
from accounts.tokens import SECOND_FACTOR_AMR
from core.errors import Forbidden, NotFound
from core.http import RequestMeta
from tenants.audit import AuditEventType, audit_record
from tenants.models import Membership
from tenants.rls.context import execute_once_in_org
from tenants.selectors import organization_lookup, user_memberships


class NotAMember(Forbidden):
    default_code = "not_a_member"
    default_detail = "You are not a member of this organization."


class OrganizationNotFound(NotFound):
    default_code = "org_not_found"
    default_detail = "Organization not found."


@dataclass(frozen=True)
class SignIn:
    """The outcome of any sign-in: what the token-pair response body is made of."""

    user: User
    pair: tokens.TokenPair
    membership: Membership | None
    memberships: list[Membership]
    created: bool


def _choose_membership(memberships: list[Membership], org_reference: str | None) -> Membership | None:
    if org_reference is None:
        return memberships[0] if len(memberships) == 1 else None
    org = organization_lookup(reference=org_reference)
    if org is None:
        raise OrganizationNotFound()
    for membership in memberships:
        if membership.org_id == org.id:
            return membership
    raise NotAMember()


def session_start(
    *,
    user: User,
    membership: Membership | None,
    amr: Sequence[str],
    meta: RequestMeta,
    authenticated_at: datetime | None = None,
) -> Session:
    """Open a session (a refresh family) scoped to ``membership``'s org, or to no org. It counts as a
    fresh proof of identity (step-up) unless ``authenticated_at`` carries an older one over."""
    now = timezone.now()
    return Session.objects.create(
        authenticated_at=authenticated_at or now,
        user=user,
        membership=membership,
        active_org_id=membership.org_id if membership else None,
        amr=list(amr),
        created_at=now,
        last_used_at=now,
        expires_at=now + timedelta(days=settings.AUTH_SESSION_MAX_DAYS),
        issued_at=int(now.timestamp()),
        user_agent=meta.user_agent,
        ip=meta.ip,
    )


@transaction.atomic(savepoint=False)
def sign_in(
    *,
    user: User,
    method: str,
    amr: Sequence[str],
    meta: RequestMeta,
    org_reference: str | None = None,
    created: bool = False,
    second_factor: str | None = None,
    mfa_exempt: bool = False,
) -> SignIn | MfaRequired:
    """Start a session for an authenticated ``user``, issue its pair, and record the sign-in.

    ``method`` names the flow for the audit log (``password``, ``oauth_token``, ``registration``,
    ``devlogin``, …); ``amr`` how the user proved who they are (RFC 8176: ``["pwd"]``, ``["email"]``,
    …), which the access token carries. With ``org_reference`` (org id or slug) the session is scoped
    to that org: 404 ``org_not_found`` when no such org exists, 403 ``not_a_member`` when the user has
    no active membership there. Without it, a user with exactly one org gets that org; with several,
    none (the client calls switch-org).

    A user with MFA on whose ``amr`` holds no second factor gets no session yet: an ``MfaRequired``
    (``accounts.services.mfa``), which ``mfa/verify/`` turns into this same sign-in, with
    ``second_factor`` naming how it passed. Only ``devlogin`` (DEBUG only) is ``mfa_exempt``.
    """
    if not mfa_exempt and second_factor_required(user, amr):
        return _second_step(user=user, method=method, amr=amr, org_reference=org_reference)
    try:
        result, session = session_open(
            user=user,
            amr=amr,
            meta=meta,
            org_reference=org_reference,
            created=created,
            mfa_exempt=mfa_exempt,
        )
    except MfaEnabledMeanwhile:
        return _second_step(user=user, method=method, amr=amr, org_reference=org_reference)
    audit_record(
        AuditEventType.SIGN_IN_SUCCEEDED,
        org_id=session.active_org_id,
        actor_user_id=user.pk,
        subject_user_id=user.pk,
        subject=session,
        details={
            "method": method,
            "amr": list(amr),
            **({"second_factor": second_factor} if second_factor else {}),
        },
        meta=meta,
    )
    return result


def _second_step(*, user: User, method: str, amr: Sequence[str], org_reference: str | None) -> MfaRequired:
    if org_reference is not None:
        _choose_membership(user_memberships(user_id=user.id), org_reference)  # 404/403 now, not later
    return challenge_start(user=user, method=method, amr=amr, org_reference=org_reference)


class MfaEnabledMeanwhile(Exception):
    """The user turned MFA on while this sign-in ran: it owes the second step after all."""


# Locks the user (and the membership) against a concurrent deactivation, password change, MFA enrolment,
# ending or logout-all until this sign-in commits, and re-reads them: either the other change waits for
# the new session to exist (and its revocation then sees it), or this sign-in sees the change and stops.
# Every user column is read from the locked row: after waiting for the lock, Postgres re-reads the row
# it locked (the newest version), while an unlocked sub-select would answer from the statement's older
# snapshot — an enrolment that committed while this sign-in waited would go unseen.
_HOLDER_LOCK_SQL = """
SELECT u.is_active AND u.password = %(password)s,
       (%(membership_id)s::uuid IS NULL OR EXISTS (
        SELECT 1 FROM tenants_membership m
        WHERE m.id = %(membership_id)s AND m.user_id = %(user_id)s AND m.is_active FOR SHARE)),
       u.mfa_enabled
FROM accounts_user u WHERE u.id = %(user_id)s FOR SHARE OF u
"""


def _lock_session_holder(
    user: User, membership: Membership | None, *, amr: Sequence[str], mfa_exempt: bool
) -> None:
    params = {
        "password": user.password,
        "user_id": user.pk,
        "membership_id": membership.pk if membership else None,
    }
    with connection.cursor() as cursor:
        execute_once_in_org(cursor, membership.org_id if membership else None, _HOLDER_LOCK_SQL, params)
        user_ok, membership_ok, mfa_enabled = cursor.fetchone() or (False, False, False)
    if not user_ok:
        raise InvalidCredentials()  # deactivated or password changed while signing in
    if not membership_ok:
        raise NotAMember()
    if mfa_enabled and not mfa_exempt and not SECOND_FACTOR_AMR.intersection(amr):
        raise MfaEnabledMeanwhile()  # read after the lock: an enrolment that committed first is seen


def session_open(
    *,
    user: User,
    amr: Sequence[str],
    meta: RequestMeta,
    org_reference: str | None = None,
    created: bool = False,
    authenticated_at: datetime | None = None,
    mfa_exempt: bool = False,
) -> tuple[SignIn, Session]:
    """:func:`sign_in` without its audit event, for flows that record their own (switch-org). Raises
    :class:`MfaEnabledMeanwhile` when ``amr`` has no second factor and the user (locked) has MFA on."""
    memberships = user_memberships(user_id=user.id)
    membership = _choose_membership(memberships, org_reference)
    _lock_session_holder(user, membership, amr=amr, mfa_exempt=mfa_exempt)
    session = session_start(
        user=user, membership=membership, amr=amr, meta=meta, authenticated_at=authenticated_at
    )
    result = SignIn(
        user=user,
        pair=tokens.pair_for_session(session),
        membership=membership,
        memberships=memberships,
        created=created,
    )
    return result, session
