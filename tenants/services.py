"""Writes on organizations and memberships."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from core.errors import Conflict, InvalidInput
from tenants.db import tenant_context
from tenants.models import Organization, Profile, Role


def organization_slug(name: str) -> str:
    slug = slugify(name)[:220]
    if not slug:
        raise InvalidInput("The organization name must contain letters or digits.", code="invalid_name")
    return slug


@transaction.atomic(savepoint=False)
def organization_create(*, name: str, owner) -> tuple[Organization, Profile]:
    """Create an org named ``name`` with ``owner`` as its owner; 409 ``org_slug_taken`` on a duplicate slug."""
    name = name.strip()
    slug = organization_slug(name)
    try:
        with transaction.atomic():
            org = Organization.objects.create(name=name, slug=slug)
    except IntegrityError as exc:
        raise Conflict("An organization with this name already exists.", code="org_slug_taken") from exc
    profile = profile_create(org=org, user=owner, role=Role.OWNER)
    return org, profile


def profile_create(*, org: Organization, user, role: str = Role.MEMBER) -> Profile:
    """Add ``user`` to ``org`` (inside ``org``'s tenant context, as RLS requires)."""
    with tenant_context(org.id):
        return Profile.objects.create(org=org, user=user, role=role)
