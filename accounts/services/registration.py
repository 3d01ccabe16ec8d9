"""Sign-up: a new user who owns a new org, signed in at once."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User, normalize_email
from accounts.services.passwords import password_validate
from accounts.services.sign_in import SignIn, sign_in
from accounts.services.users import SignupDisabled, signup_allowed, user_create, user_registered_record
from accounts.signals import user_registered
from core.errors import Conflict
from core.http import RequestMeta
from tenants.services import organization_create


def signup_require_allowed() -> None:
    """403 ``signup_disabled`` unless :func:`~accounts.services.users.signup_allowed` (registration checks
    it before the body is even validated)."""
    if not signup_allowed():
        raise SignupDisabled()


class EmailTaken(Conflict):
    default_code = "email_taken"
    default_detail = "An account with this email already exists."


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
        raise EmailTaken()
    user = user_create(
        email=candidate.email,
        password=password,
        first_name=first_name,
        last_name=last_name,
        method="registration",
        meta=meta,
        audit=False,  # recorded below, in the org it makes
    )
    if user is None:  # a concurrent registration won the race
        raise EmailTaken()
    org, _ = organization_create(name=organization_name, owner=user)
    user_registered_record(user, method="registration", meta=meta, org_id=org.id)
    user_registered.send(sender=User, user=user, meta=meta)  # magiclinks emails the verification link
    return sign_in(user=user, method="registration", amr=["pwd"], meta=meta, created=True)
