"""``manage.py devlogin``'s sign-in: local development only."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction

from accounts.models import User, normalize_email
from accounts.services.sign_in import SignIn, sign_in
from core.errors import Forbidden, InvalidInput
from core.http import RequestMeta
from tenants.policy import MembershipRole
from tenants.selectors import organization_lookup
from tenants.services import membership_ensure, organization_create, organization_slug


def dev_sign_in(*, email: str, org_name: str) -> SignIn:
    """Sign ``email`` in to the org named ``org_name`` without a password (DEBUG only).

    Creates what is missing: the user (with no usable password), the org and an owner membership; an
    ended membership comes back. The session's ``amr`` is empty: nothing was proven. A deactivated
    user stays out.
    """
    if not settings.DEBUG:
        raise Forbidden("devlogin only runs with DEBUG on (DJANGO_DEBUG=1); no token was issued.")
    email = normalize_email(email)
    try:
        validate_email(email)
    except DjangoValidationError as exc:
        raise InvalidInput(f"Not a valid email address: {email!r}") from exc
    with transaction.atomic(savepoint=False):
        user = User.objects.filter(email=email).first() or User.objects.create_user(email=email)
        if not user.is_active:
            raise Forbidden(f"{email} is deactivated; reactivate the user in the admin first.")
        org = organization_lookup(reference=organization_slug(org_name))
        if org is None:
            org, membership = organization_create(name=org_name, owner=user)
        else:
            membership = membership_ensure(org=org, user=user, role=MembershipRole.OWNER)
        return sign_in(
            user=user,
            method="devlogin",
            amr=[],
            meta=RequestMeta(ip=None, user_agent="manage.py devlogin"),
            org_reference=str(membership.org_id),
            mfa_exempt=True,  # DEBUG only, and its amr ([]) says it proved nothing
        )
