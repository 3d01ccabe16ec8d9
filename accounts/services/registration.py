"""Sign-up: a new user who owns a new org, signed in at once."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.models import User, normalize_email
from accounts.services.passwords import password_validate
from accounts.services.sign_in import SignIn, sign_in
from accounts.signals import user_registered
from core.errors import Conflict, Forbidden
from core.http import RequestMeta
from tenants.audit import AuditEventType, audit_record
from tenants.services import organization_create


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
    org, _ = organization_create(name=organization_name, owner=user)
    audit_record(
        AuditEventType.USER_REGISTERED,
        org_id=org.id,
        actor_user_id=user.pk,
        subject_user_id=user.pk,
        meta=meta,
    )
    user_registered.send(sender=User, user=user, meta=meta)  # magiclinks emails the verification link
    return sign_in(user=user, method="registration", amr=["pwd"], meta=meta, created=True)
