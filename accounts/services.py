"""Sign-in and the session (refresh family) lifecycle: start, rotate, revoke.

Services are atomic without a savepoint of their own (``savepoint=False``): inside a request they
join its transaction, and an error rolls the whole request back anyway, so a savepoint would only
add two round trips to every sign-in.

Every sign-in path (password, register, devlogin, and later magic links, Google, invitations) ends in
:func:`sign_in`, which opens a session and returns the token pair. Refresh rotation lives in
:func:`session_refresh`; revocation in :func:`session_revoke` / :func:`sessions_revoke_for_user`.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.db.models.functions import Now
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from accounts import tokens
from accounts.models import Session, User, normalize_email
from core.errors import Conflict, Forbidden, NotFound, Unauthenticated
from core.http import RequestMeta
from tenants.db import execute_in_org
from tenants.models import Profile
from tenants.selectors import organization_lookup, user_memberships
from tenants.services import organization_create

logger = logging.getLogger(__name__)


class InvalidCredentials(Unauthenticated):
    default_code = "invalid_credentials"
    default_detail = "Invalid email or password."


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
    profile: Profile | None
    memberships: list[Profile]
    created: bool


# --- Passwords -------------------------------------------------------------------------------------

_dummy_password_hash: str | None = None


def _burn_password_check(password: str) -> None:
    """Spend one real hash verification, so an unknown email costs what a wrong password costs."""
    global _dummy_password_hash
    if _dummy_password_hash is None:
        _dummy_password_hash = make_password(uuid.uuid4().hex)
    check_password(password, _dummy_password_hash)


def password_validate(*, password: str, user: User, field: str = "password") -> None:
    """Django's validators (length 8-128, common list, similarity to email/names) as a 400 field error."""
    try:
        password_validation.validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise ValidationError({field: list(exc.messages)}) from exc


def user_authenticate(*, email: str, password: str) -> User:
    """The active user with this email and password, or 401 ``invalid_credentials`` (same for any cause)."""
    try:
        user = User.objects.get(email=normalize_email(email))
    except User.DoesNotExist:
        _burn_password_check(password)
        raise InvalidCredentials() from None
    if not user.check_password(password) or not user.is_active:
        raise InvalidCredentials()
    return user


# --- Sign-in ---------------------------------------------------------------------------------------


def _choose_profile(memberships: list[Profile], org_reference: str | None) -> Profile | None:
    if org_reference is None:
        return memberships[0] if len(memberships) == 1 else None
    org = organization_lookup(reference=org_reference)
    if org is None:
        raise OrganizationNotFound()
    for profile in memberships:
        if profile.org_id == org.id:
            return profile
    raise NotAMember()


def session_start(*, user: User, profile: Profile | None, meta: RequestMeta) -> Session:
    """Open a session (a refresh family) scoped to ``profile``'s org, or to no org."""
    now = timezone.now()
    return Session.objects.create(
        user=user,
        profile=profile,
        active_org_id=profile.org_id if profile else None,
        created_at=now,
        last_used_at=now,
        expires_at=now + timedelta(days=settings.AUTH_SESSION_MAX_DAYS),
        issued_at=int(now.timestamp()),
        user_agent=meta.user_agent,
        ip=meta.ip,
    )


@transaction.atomic(savepoint=False)
def sign_in(
    *, user: User, meta: RequestMeta, org_reference: str | None = None, created: bool = False
) -> SignIn:
    """Start a session for an authenticated ``user`` and issue its pair.

    With ``org_reference`` (org id or slug) the session is scoped to that org: 404 ``org_not_found``
    when no such org exists, 403 ``not_a_member`` when the user has no active membership there. Without
    it, a user with exactly one org gets that org; with several, none (the client calls switch-org).
    """
    memberships = user_memberships(user_id=user.id)
    profile = _choose_profile(memberships, org_reference)
    session = session_start(user=user, profile=profile, meta=meta)
    return SignIn(
        user=user,
        pair=tokens.pair_for_session(session),
        profile=profile,
        memberships=memberships,
        created=created,
    )


def signup_require_allowed() -> None:
    """403 ``signup_disabled`` with ``AUTH_ALLOW_SIGNUP=0`` (checked before the body is even validated)."""
    if not settings.AUTH_ALLOW_SIGNUP:
        raise Forbidden("Sign-up is disabled.", code="signup_disabled")


@transaction.atomic(savepoint=False)
def user_register(
    *,
    email: str,
    password: str,
    organization_name: str,
    first_name: str = "",
    last_name: str = "",
    meta: RequestMeta,
) -> SignIn:
    """Create a user who owns a new org, and sign them in. 409 ``email_taken`` / ``org_slug_taken``."""
    signup_require_allowed()
    candidate = User(email=normalize_email(email), first_name=first_name, last_name=last_name)
    password_validate(password=password, user=candidate)
    if User.objects.filter(email=candidate.email).exists():
        raise Conflict("An account with this email already exists.", code="email_taken")
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email=candidate.email, password=password, first_name=first_name, last_name=last_name
            )
    except IntegrityError as exc:  # a concurrent registration won the race
        raise Conflict("An account with this email already exists.", code="email_taken") from exc
    organization_create(name=organization_name, owner=user)
    return sign_in(user=user, meta=meta, created=True)


@transaction.atomic(savepoint=False)
def user_update(*, user: User, first_name: str | None = None, last_name: str | None = None) -> User:
    changed = []
    for field, value in (("first_name", first_name), ("last_name", last_name)):
        if value is not None:
            setattr(user, field, value)
            changed.append(field)
    if changed:
        user.save(update_fields=changed)
    return user


# --- Refresh rotation (RFC 9700 §4.14.2) ------------------------------------------------------------

_ROTATE_SQL = """
UPDATE accounts_session AS s
SET previous_refresh_jti = s.refresh_jti, refresh_jti = %(new_refresh)s, access_jti = %(new_access)s,
    issued_at = %(issued_at)s, rotated_at = now(), last_used_at = now()
WHERE s.id = %(sid)s AND s.user_id = %(user_id)s AND s.refresh_jti = %(jti)s
  AND s.revoked_at IS NULL AND s.expires_at > now()
  AND s.active_org_id IS NOT DISTINCT FROM %(org_id)s
  AND s.profile_id IS NOT DISTINCT FROM %(profile_id)s
  AND EXISTS (SELECT 1 FROM accounts_user u WHERE u.id = s.user_id AND u.is_active)
  AND (s.profile_id IS NULL
       OR EXISTS (SELECT 1 FROM tenants_profile p WHERE p.id = s.profile_id AND p.is_active))
RETURNING s.id, s.user_id, s.profile_id, s.active_org_id, s.issued_at, s.expires_at,
          s.refresh_jti, s.access_jti
"""
_ROTATED_FIELDS = (
    "id",
    "user_id",
    "profile_id",
    "active_org_id",
    "issued_at",
    "expires_at",
    "refresh_jti",
    "access_jti",
)


def session_refresh(*, raw_refresh: Any) -> tokens.TokenPair:
    """Spend a refresh token and return its successor pair, in the same session.

    * The live token: one conditional ``UPDATE … RETURNING`` (with the tenant context folded into the
      same round trip) spends it, so concurrent refreshes cannot fork the session; the user and the
      membership are re-checked in the same statement.
    * The token spent just before, presented again within ``JWT_REFRESH_REUSE_GRACE_SECONDS``: two
      tabs raced; both get the **same** successor pair (re-derived from the row, see ``tokens``).
    * Any other spent token: replay. The whole session is revoked (committed) and the answer is 401.

    Runs outside the request transaction: the revocation must persist although the response is an error.
    """
    claims = tokens.decode_refresh(raw_refresh)
    with transaction.atomic():
        with connection.cursor() as cursor:
            execute_in_org(
                cursor,
                claims.org_id,
                _ROTATE_SQL,
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
            .filter(
                id=claims.session_id, user_id=claims.user_id, revoked_at__isnull=True, expires_at__gt=Now()
            )
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
            return tokens.pair_for_session(session)
        if racing_duplicate or session.refresh_jti == claims.jti:
            reason = "access_lost"  # the user was deactivated or the membership ended
        else:
            reason = "refresh_reuse"
        _revoke(Session.objects.filter(id=session.id), reason=reason)
    if reason == "refresh_reuse":
        logger.warning("refresh token reuse: session %s of user %s revoked", session.id, session.user_id)
    raise tokens.InvalidToken()


def _session_holder_allowed(session: Session) -> bool:
    """The session's user is active and its membership (if any) too; the org context is already set."""
    holder = Session.objects.filter(id=session.id, user__is_active=True)
    if session.profile_id is not None:
        holder = holder.filter(profile__is_active=True)
    return holder.exists()


# --- Revocation ------------------------------------------------------------------------------------


def _revoke(queryset, *, reason: str) -> int:
    return queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now(), revoked_reason=reason)


@transaction.atomic(savepoint=False)
def session_revoke(*, user_id: uuid.UUID, session_id: uuid.UUID, reason: str) -> bool:
    """Revoke one live session of a user; ``False`` when it is not theirs or not alive."""
    live = Session.objects.filter(id=session_id, user_id=user_id, expires_at__gt=timezone.now())
    return _revoke(live, reason=reason) > 0


@transaction.atomic(savepoint=False)
def sessions_revoke_for_user(*, user_id: uuid.UUID, reason: str, keep: uuid.UUID | None = None) -> int:
    """Revoke every session of a user (but ``keep``): logout-all, password change/reset, deactivation."""
    sessions = Session.objects.filter(user_id=user_id)
    if keep is not None:
        sessions = sessions.exclude(id=keep)
    return _revoke(sessions, reason=reason)


@transaction.atomic(savepoint=False)
def sessions_revoke(*, session_ids: list[uuid.UUID], reason: str) -> int:
    """Revoke the given sessions, whoever they belong to (the admin's action)."""
    return _revoke(Session.objects.filter(id__in=session_ids), reason=reason)


@transaction.atomic(savepoint=False)
def switch_org(*, user: User, session_id: uuid.UUID, org_id: uuid.UUID, meta: RequestMeta) -> SignIn:
    """A new session scoped to ``org_id``; the caller's session is revoked (its pair dies at once)."""
    result = sign_in(user=user, meta=meta, org_reference=str(org_id))
    session_revoke(user_id=user.id, session_id=session_id, reason="switch_org")
    return result
