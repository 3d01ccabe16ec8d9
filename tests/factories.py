"""Small typed factories over the real services (so tests exercise the RLS-aware write paths)."""

from __future__ import annotations

from accounts.models import User
from tenants.models import Membership, Organization
from tenants.policy import MembershipRole
from tenants.services import membership_create, organization_create

DEFAULT_PASSWORD = "correct horse battery staple"


def make_user(*, email: str = "user@example.com", password: str | None = DEFAULT_PASSWORD, **fields) -> User:
    return User.objects.create_user(email=email, password=password, **fields)


def make_org(*, name: str, owner: User) -> Organization:
    org, _ = organization_create(name=name, owner=owner)
    return org


def add_member(*, org: Organization, user: User, role: str = MembershipRole.MEMBER) -> Membership:
    return membership_create(org=org, user=user, role=role)
