"""Writes on organizations and memberships."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from core.errors import Conflict, InvalidInput
from tenants.audit import AuditEventType, audit_record
from tenants.models import Membership, Organization
from tenants.policy import MembershipRole
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
            membership.save(update_fields=["is_active"])
        return membership
