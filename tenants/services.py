"""Writes on organizations and memberships."""

from __future__ import annotations

import uuid

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from tenants.audit import AuditEventType, audit_record
from tenants.models import Membership, Organization
from tenants.policy import MembershipRole, role_level
from tenants.rls.context import tenant_context


def organization_slug(name: str) -> str:
    slug = slugify(name)[:220]
    if not slug:
        raise InvalidInput("The organization name must contain letters or digits.", code="invalid_name")
    return slug


@transaction.atomic(savepoint=False)
def organization_create(*, name: str, owner) -> tuple[Organization, Membership]:
    """Create an org named ``name`` with ``owner`` as its owner; 409 ``org_slug_taken`` on a duplicate slug."""
    name = name.strip()
    slug = organization_slug(name)
    try:
        with transaction.atomic():
            org = Organization.objects.create(name=name, slug=slug)
    except IntegrityError as exc:
        raise Conflict("An organization with this name already exists.", code="org_slug_taken") from exc
    audit_record(AuditEventType.ORG_CREATED, org_id=org.id, actor_user_id=owner.pk, subject=org)
    membership = membership_create(org=org, user=owner, role=MembershipRole.OWNER)
    return org, membership


@transaction.atomic(savepoint=False)
def membership_create(*, org: Organization, user, role: str = MembershipRole.MEMBER) -> Membership:
    """Add ``user`` to ``org`` (inside ``org``'s tenant context, as RLS requires)."""
    with tenant_context(org.id):
        membership = Membership.objects.create(org=org, user=user, role=role)
    audit_record(
        AuditEventType.MEMBERSHIP_CREATED,
        org_id=org.id,
        subject_user_id=user.pk,
        subject=membership,
        details={"role": role},
    )
    return membership


def membership_ensure(*, org: Organization, user, role: str = MembershipRole.MEMBER) -> Membership:
    """``user``'s membership in ``org``: created with ``role`` when missing, reactivated when ended.

    Reactivation revives none of the sessions the membership had (they were revoked when it ended).
    """
    with tenant_context(org.id):
        membership, created = Membership.objects.get_or_create(org=org, user=user, defaults={"role": role})
        if not created and not membership.is_active:
            membership.is_active = True
            membership.save(update_fields=["is_active"])  # joined_at moves too (migration tenants.0006)
        return membership


# --- The org and its members (the caller's org: the request's tenant context is set for it) ------------


class LastOwner(Forbidden):
    default_code = "last_owner"
    default_detail = "An organization needs an owner: make someone else owner first."


class OwnersOnly(Forbidden):
    default_code = "insufficient_role"
    default_detail = (
        "You cannot change, remove or appoint someone above your own role (only an owner may an owner)."
    )


class MemberNotFound(NotFound):
    default_code = "member_not_found"
    default_detail = "No such member in this organization."


def _org_lock(org_id: uuid.UUID) -> None:
    """Serialize member management within one org: every such change first takes the org's row (``FOR NO
    KEY UPDATE``: sign-ins, which only reference it, go on). Two owners removing or demoting each other
    at once then queue up instead of locking each other's rows in opposite orders (a deadlock)."""
    list(Organization.objects.select_for_update(no_key=True).filter(pk=org_id).values_list("pk", flat=True))


def _owners_locked(org_id: uuid.UUID) -> list[uuid.UUID]:
    """The ids of the org's active owners, their rows locked: two owners demoting or removing each other
    at once cannot both pass the last-owner check."""
    return list(
        Membership.objects.select_for_update()
        .filter(org_id=org_id, role=MembershipRole.OWNER, is_active=True)
        .values_list("id", flat=True)
    )


def _require_not_last_owner(membership: Membership) -> None:
    if membership.role == MembershipRole.OWNER and _owners_locked(membership.org_id) == [membership.id]:
        raise LastOwner()


def member_get(*, org_id: uuid.UUID, membership_id: uuid.UUID) -> Membership:
    """An active member of the org (locked), or 404 (also for another org's: RLS hides those)."""
    membership = (
        Membership.objects.select_for_update()
        .select_related("user")
        .filter(org_id=org_id, pk=membership_id, is_active=True)
        .first()
    )
    if membership is None:
        raise MemberNotFound()
    return membership


def _actor_current(actor: Membership) -> Membership:
    """The actor's membership as it is now that the org is locked: a change that queued behind another
    (an owner demoted meanwhile) acts with the role the actor has, not the one read at authentication.
    403 ``insufficient_role`` if it ended meanwhile. An API key's stand-in (never saved) is as it is."""
    if actor._state.adding:
        return actor
    current = Membership.objects.filter(pk=actor.pk, is_active=True).first()
    if current is None:
        raise OwnersOnly("Your membership of this organization has ended.")
    return current


def _may_act_on(actor: Membership, target: Membership, *, new_role: str | None = None) -> None:
    """Nobody acts on a role above their own or grants one: an admin manages members and admins, only
    an owner touches or appoints an owner (and an API key, acting as a member, manages members only)."""
    level = role_level(actor.role)
    if role_level(target.role) > level or (new_role is not None and role_level(new_role) > level):
        raise OwnersOnly()


@transaction.atomic(savepoint=False)
def member_role_change(*, actor: Membership, membership_id: uuid.UUID, role: str) -> Membership:
    """Give a member another role: 403 for an admin touching an owner or appointing one, 403
    ``last_owner`` for demoting the last owner. Recorded by ``Membership.save`` (``membership.role_changed``)."""
    _org_lock(actor.org_id)  # as remove and leave: two owners demoting each other queue, never deadlock
    actor = _actor_current(actor)
    target = member_get(org_id=actor.org_id, membership_id=membership_id)
    _may_act_on(actor, target, new_role=role)
    if target.role == role:
        return target
    if role != MembershipRole.OWNER:
        _require_not_last_owner(target)
    target.role = role
    target.save(update_fields=["role"])
    return target


def _membership_end(target: Membership, event: AuditEventType) -> None:
    """End a membership: its sessions in the org end with it (database trigger, migration accounts.0003)."""
    _require_not_last_owner(target)
    target.is_active = False
    target.end_event = event
    target.save(update_fields=["is_active"])


@transaction.atomic(savepoint=False)
def member_remove(*, actor: Membership, membership_id: uuid.UUID) -> None:
    """Remove a member (an admin may not remove an owner; nobody the last owner)."""
    _org_lock(actor.org_id)
    actor = _actor_current(actor)
    target = member_get(org_id=actor.org_id, membership_id=membership_id)
    _may_act_on(actor, target)
    _membership_end(target, AuditEventType.MEMBERSHIP_REMOVED)


@transaction.atomic(savepoint=False)
def member_leave(*, membership: Membership) -> None:
    """The caller leaves the org (403 ``last_owner`` for its last owner)."""
    _org_lock(membership.org_id)
    _membership_end(
        member_get(org_id=membership.org_id, membership_id=membership.pk), AuditEventType.MEMBERSHIP_LEFT
    )


@transaction.atomic(savepoint=False)
def organization_rename(*, org: Organization, name: str) -> Organization:
    """Rename the org; its slug follows (409 ``org_slug_taken``)."""
    name = name.strip()
    slug = organization_slug(name)
    previous = org.name
    org.name, org.slug = name, slug
    try:
        with transaction.atomic():
            org.save(update_fields=["name", "slug"])
    except IntegrityError as exc:
        raise Conflict("An organization with this name already exists.", code="org_slug_taken") from exc
    if previous != name:
        audit_record(
            AuditEventType.ORG_RENAMED, org_id=org.id, subject=org, details={"from": previous, "to": name}
        )
    return org


class ReauthenticationRequired(Forbidden):
    default_code = "reauthentication_required"
    default_detail = "Confirm it is you: sign in again or call reauthenticate/ first."


def require_step_up_for_role(role: str, *, recently_authenticated: bool) -> None:
    """Granting ``admin`` or ``owner`` (an invitation, resending one) is sensitive: 403
    ``reauthentication_required`` unless the caller passed step-up (``tenants.api.permissions``)."""
    if role_level(role) >= role_level(MembershipRole.ADMIN) and not recently_authenticated:
        raise ReauthenticationRequired()


class MfaEnrolmentRequired(Forbidden):
    default_code = "mfa_enrolment_required"
    default_detail = (
        "This organization requires multi-factor authentication: turn it on for your account first."
    )


def organization_mfa_policy_set(
    *, org: Organization, require: bool, actor: Membership | None
) -> Organization:
    """Require MFA of the org's members, or stop requiring it: an owner only, and only an owner who has
    MFA on can turn it on (else they would lock themselves out). Members without MFA are then refused on
    the org's endpoints (``tenants.api.permissions.HasActiveOrg``)."""
    if actor is None or actor.role != MembershipRole.OWNER:
        raise OwnersOnly("Only an owner can change whether this organization requires MFA.")
    if require and not actor.user.mfa_enabled:
        raise MfaEnrolmentRequired("Turn on multi-factor authentication for your own account first.")
    if org.require_mfa != require:
        org.require_mfa = require
        org.save(update_fields=["require_mfa"])
        audit_record(
            AuditEventType.ORG_MFA_POLICY_CHANGED,
            org_id=org.id,
            subject=org,
            details={"require_mfa": require},
        )
    return org


class ConfirmationMismatch(InvalidInput):
    default_code = "confirmation_mismatch"
    default_detail = "Type the organization's exact name in `confirm` to delete it."


@transaction.atomic(savepoint=False)
def organization_delete(*, org: Organization, confirm: str | None, actor_user_id: uuid.UUID) -> None:
    """Delete the org and everything of it (memberships, invitations, its audit events, and every session
    scoped to it: its tokens are refused from the next request). ``confirm`` must be the exact name."""
    if confirm != org.name:
        raise ConfirmationMismatch()
    _org_lock(org.id)
    org_id = org.id
    org.delete()
    # The org's own events are gone with it: this one is the deleter's (user-level, so the deleter's
    # other orgs see it too: the org's id, not its name).
    audit_record(
        AuditEventType.ORG_DELETED,
        actor_user_id=actor_user_id,
        subject_user_id=actor_user_id,
        details={"org_id": str(org_id)},
    )
