"""Invitations: admins invite, list, revoke and resend in their org (under its RLS scope); the invitee
validates and accepts with the emailed token.

A token names no org, so finding its invitation is cross-tenant by nature: :func:`_org_of` asks the
named cross-tenant path for the one column it needs (the org), and everything else runs under that org's
RLS scope.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from accounts.models import User, normalize_email
from accounts.services.passwords import password_validate
from accounts.services.sign_in import SignIn, sign_in
from accounts.services.users import email_mark_verified, user_create
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.http import RequestMeta
from core.secrets import secret_digest, token_new
from invitations.models import Invitation, InvitationStatus
from invitations.tasks import TOKEN_PURPOSE
from tenants.audit import AuditEventType, audit_record
from tenants.models import Membership
from tenants.policy import role_level
from tenants.rls.context import cross_tenant_rows, tenant_context
from tenants.services import membership_create, require_step_up_for_role


class InvitationNotFound(NotFound):
    default_code = "invitation_not_found"
    default_detail = "No such invitation."


class InvitationInvalid(InvalidInput):
    default_code = "invitation_invalid"
    default_detail = "This invitation has expired, was already used, or was revoked."

    def __init__(self, invitation: Invitation) -> None:
        super().__init__()
        self.invitation = invitation


class InvitationClosed(Conflict):
    default_code = "invitation_closed"
    default_detail = "This invitation was already accepted or revoked."


class AlreadyMember(Conflict):
    default_code = "already_member"
    default_detail = "This address already belongs to a member of the organization."


class InvitationPending(Conflict):
    default_code = "invitation_pending"
    default_detail = "This address already has a pending invitation: resend it instead."


class RoleAboveOwn(Forbidden):
    default_code = "insufficient_role"
    default_detail = "You cannot invite someone with a role above your own, or renew such an invitation."


class WrongAccount(Forbidden):
    default_code = "wrong_account"
    default_detail = "You are signed in with another address than the invitation's. Sign in as the invitee."


class SignInFirst(Conflict):
    default_code = "account_exists"
    default_detail = "An account with this address exists: sign in with it, then accept the invitation."


def placeholder_digest() -> str:
    """A digest no token matches (its token is thrown away): a row's digest until a send mints its token."""
    return secret_digest(token_new(), purpose=TOKEN_PURPOSE)


def _locked(org_id: uuid.UUID, invitation_id: uuid.UUID) -> Invitation:
    invitation = Invitation.objects.select_for_update().filter(org_id=org_id, pk=invitation_id).first()
    if invitation is None:
        raise InvitationNotFound()
    return invitation


# --- Admins ---------------------------------------------------------------------------------------


@transaction.atomic(savepoint=False)
def invitation_create(
    *,
    actor: Membership,
    email: str,
    role: str,
    recently_authenticated: bool,
    api_key_id: uuid.UUID | None = None,
) -> Invitation:
    """Invite ``email`` to the actor's org as ``role`` (not above the actor's own: 403; ``admin`` or
    ``owner`` only after a recent sign-in: 403 ``reauthentication_required``). 409 ``already_member`` /
    ``invitation_pending``. The caller starts the email job (``send_invitation``)."""
    if role_level(role) > role_level(actor.role):
        raise RoleAboveOwn()
    require_step_up_for_role(role, recently_authenticated=recently_authenticated)
    email = normalize_email(email)
    if Membership.objects.filter(org_id=actor.org_id, user__email=email, is_active=True).exists():
        raise AlreadyMember()
    now = timezone.now()
    open_invitation = (
        Invitation.objects.select_for_update()
        .filter(org_id=actor.org_id, email=email, accepted_at__isnull=True, revoked_at__isnull=True)
        .first()
    )
    if open_invitation is not None:
        if open_invitation.status == InvitationStatus.PENDING:
            raise InvitationPending()
        open_invitation.revoked_at = now  # an expired one is closed (it stays "expired") for the new one
        open_invitation.save(update_fields=["revoked_at"])
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(
                org_id=actor.org_id,
                email=email,
                role=role,
                digest=placeholder_digest(),
                invited_by_id=actor.user_id,
                invited_by_api_key_id=api_key_id,
                created_at=now,
                expires_at=now + timedelta(days=settings.INVITATION_DAYS),
            )
    except IntegrityError as exc:  # a concurrent invitation of the same address won
        raise InvitationPending() from exc
    _record(AuditEventType.INVITATION_CREATED, invitation)
    return invitation


def _record(event: AuditEventType, invitation: Invitation, **details) -> None:
    audit_record(
        event,
        org_id=invitation.org_id,
        subject=invitation,
        details={"email": invitation.email, "role": invitation.role, **details},
    )


# Each status as a condition (``Invitation.status`` in SQL), for listing by status.
_STATUS_FILTERS = {
    InvitationStatus.ACCEPTED: lambda now: Q(accepted_at__isnull=False),
    InvitationStatus.REVOKED: lambda now: Q(
        accepted_at__isnull=True, revoked_at__isnull=False, expires_at__gt=F("revoked_at")
    ),
    InvitationStatus.EXPIRED: lambda now: (
        Q(accepted_at__isnull=True)
        & (
            Q(revoked_at__isnull=True, expires_at__lte=now)
            | Q(revoked_at__isnull=False, expires_at__lte=F("revoked_at"))
        )
    ),
    InvitationStatus.PENDING: lambda now: Q(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
    ),
}


def invitations_of(*, org_id: uuid.UUID, statuses: Sequence[str] = ()) -> list[Invitation]:
    """The org's invitations, newest first, optionally of some statuses only."""
    invitations = Invitation.objects.filter(org_id=org_id).select_related("invited_by")
    if statuses:
        now = timezone.now()
        condition = Q()
        for status in statuses:
            condition |= _STATUS_FILTERS[status](now)
        invitations = invitations.filter(condition)
    return list(invitations.order_by("-created_at", "id"))


@transaction.atomic(savepoint=False)
def invitation_revoke(*, actor: Membership, invitation_id: uuid.UUID) -> None:
    """Revoke an invitation: its link dies. Revoking twice is fine; an accepted one is 409."""
    invitation = _locked(actor.org_id, invitation_id)
    if invitation.accepted_at is not None:
        raise InvitationClosed()
    invitation_close(invitation)


def invitation_close(invitation: Invitation) -> None:
    """Revoke ``invitation`` (a locked row) unless it is closed already (the admin's action too)."""
    if invitation.accepted_at is None and invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        _record(AuditEventType.INVITATION_REVOKED, invitation)


@transaction.atomic(savepoint=False)
def invitation_resend(
    *, actor: Membership, invitation_id: uuid.UUID, recently_authenticated: bool
) -> Invitation:
    """Renew a pending or expired invitation: a new expiry, and its old link dead at once (the email job
    mints the new one). 409 ``invitation_closed`` for an accepted or revoked one; 403
    ``reauthentication_required`` for an ``admin`` or ``owner`` one without a recent sign-in."""
    invitation = _locked(actor.org_id, invitation_id)
    if role_level(invitation.role) > role_level(actor.role):
        raise RoleAboveOwn()  # an admin may revoke an owner's invitation, not keep it alive
    require_step_up_for_role(invitation.role, recently_authenticated=recently_authenticated)
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise InvitationClosed()
    return invitation_renew(invitation)


def invitation_renew(invitation: Invitation) -> Invitation:
    """A new expiry, and the old link dead at once (a locked, open row; the admin's action too). The
    caller starts the email job, which mints the new link."""
    invitation.digest_replace(placeholder_digest(), retire=invitation.sent_at is not None)
    invitation.expires_at = timezone.now() + timedelta(days=settings.INVITATION_DAYS)
    invitation.sent_at = None  # the placeholder is no sent link
    invitation.save(update_fields=["digest", "retired_digests", "expires_at", "sent_at"])
    _record(AuditEventType.INVITATION_RESENT, invitation)
    return invitation


# --- The invitee -------------------------------------------------------------------------------------

_ORG_OF_SQL = "SELECT org_id FROM invitations_invitation WHERE digest = %(digest)s OR retired_digests @> ARRAY[%(digest)s]::varchar[]"


def _org_of(digest: str) -> uuid.UUID:
    """The org of the invitation with this digest (now or before a resend), through the named
    cross-tenant path; 404 if none."""
    rows = cross_tenant_rows(_ORG_OF_SQL, {"digest": digest})
    if not rows:
        raise InvitationNotFound()
    return rows[0][0]


def _by_token(token: str, *, lock: bool) -> Invitation:
    """The invitation of ``token`` (with its org and inviter), read under its org's RLS scope; 404 if
    unknown, 400 ``invitation_invalid`` for a link a resend replaced."""
    digest = secret_digest(token, purpose=TOKEN_PURPOSE)
    org_id = _org_of(digest)
    with tenant_context(org_id):
        invitations = Invitation.objects.select_related("org", "invited_by")
        if lock:
            invitations = invitations.select_for_update(of=("self",))
        invitation = (
            invitations.filter(org_id=org_id)
            .filter(Q(digest=digest) | Q(retired_digests__contains=[digest]))
            .first()
        )
    if invitation is None:
        raise InvitationNotFound()
    if invitation.digest != digest:
        raise InvitationInvalid(invitation)  # replaced by a newer link
    return invitation


def _require_pending(invitation: Invitation) -> None:
    """400 ``invitation_invalid`` unless pending and its inviter still could invite to its role: an
    invitation dies with its inviter's authority (removed, or demoted below the invited role), so a
    rogue admin cannot leave invitations behind to come back by."""
    if invitation.status != InvitationStatus.PENDING:
        raise InvitationInvalid(invitation)
    if invitation.invited_by_api_key_id is not None:
        return  # made by an API key (with invitations:write): revoking the key leaves it; revoke it too
    with tenant_context(invitation.org_id):
        inviter = (
            Membership.objects.filter(
                org_id=invitation.org_id, user_id=invitation.invited_by_id, is_active=True
            )
            .values_list("role", flat=True)
            .first()
        )
    if inviter is None or role_level(inviter) < role_level(invitation.role):
        raise InvitationInvalid(invitation)


@transaction.atomic
def invitation_validate(*, token: str) -> Invitation:
    """The pending invitation of ``token``: 404 unknown, 400 ``invitation_invalid`` (expired, used,
    revoked; the caller records it). A savepoint when nested (not ``savepoint=False``): the caller
    records the refusal after this block failed, so an enclosing transaction must stay usable."""
    invitation = _by_token(token, lock=False)
    _require_pending(invitation)
    return invitation


def invitation_refused_record(invitation: Invitation, *, via: str) -> None:
    """A used, revoked or expired token presented: recorded on its own (the request fails)."""
    with transaction.atomic(durable=True), tenant_context(invitation.org_id):
        _record(AuditEventType.INVITATION_REFUSED, invitation, status=invitation.status, via=via)


@transaction.atomic(savepoint=False)
def invitation_accept(
    *,
    token: str,
    bearer: User | None,
    bearer_amr: Sequence[str] = (),
    password: str | None = None,
    first_name: str = "",
    last_name: str = "",
    meta: RequestMeta,
) -> SignIn:
    """Accept: the invitee joins the org with the invited role and is signed in there (201 for a new
    account, 200 for an existing one); their address counts as verified.

    * With a Bearer token: it must be the invited address's account (else 403 ``wrong_account``, and
      the invitation stays valid).
    * Without: a new account with ``password`` (validated) and names; 409 ``account_exists`` when the
      address has an account (sign in first). Invitations create accounts even with sign-up off.

    The invitation row is locked: of two concurrent accepts exactly one joins, the other finds it used.
    """
    invitation = _by_token(token, lock=True)
    _require_pending(invitation)
    created = False
    if bearer is not None:
        if bearer.email != invitation.email:
            raise WrongAccount()
        user, amr = bearer, list(bearer_amr) or ["pwd"]
    else:
        user = _new_account(
            invitation, password=password, first_name=first_name, last_name=last_name, meta=meta
        )
        created, amr = True, ["pwd"]
    _join(invitation, user)
    email_mark_verified(user, via="invitation")
    return sign_in(
        user=user,
        method="invitation",
        amr=amr,
        meta=meta,
        org_reference=str(invitation.org_id),
        created=created,
    )


def _new_account(
    invitation: Invitation, *, password: str | None, first_name: str, last_name: str, meta
) -> User:
    if User.objects.filter(email=invitation.email).exists():
        raise SignInFirst()
    if not password:
        raise ValidationError({"password": ["A new account needs a password."]})
    candidate = User(email=invitation.email, first_name=first_name, last_name=last_name)
    password_validate(password=password, user=candidate)
    # An invitation is the org's decision: no sign-up rule applies (accounts.services.users.signup_allowed).
    user = user_create(
        email=invitation.email,
        password=password,
        first_name=first_name,
        last_name=last_name,
        email_verified=True,
        method="invitation",
        meta=meta,
    )
    if user is None:  # registered meanwhile by another route
        raise SignInFirst()
    return user


def _join(invitation: Invitation, user: User) -> None:
    """The user becomes a member with the invited role (an ended membership comes back; an active one
    keeps the higher of its role and the invited one), and the invitation is used."""
    with tenant_context(invitation.org_id):
        membership = (
            Membership.objects.select_for_update().filter(org_id=invitation.org_id, user=user).first()
        )
        if membership is None:
            membership_create(org=invitation.org, user=user, role=invitation.role)
        else:
            changed = []
            if not membership.is_active:
                membership.is_active, membership.role = True, invitation.role
                changed = ["is_active", "role"]
            elif role_level(invitation.role) > role_level(membership.role):
                membership.role = invitation.role
                changed = ["role"]
            if changed:
                membership.save(update_fields=changed)
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        _record(AuditEventType.INVITATION_ACCEPTED, invitation, user_id=str(user.pk))
