"""Passwords: verification with equal cost for unknown emails, and Django's validators as a 400."""

from __future__ import annotations

import uuid

from django.contrib.auth import password_validation
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import ValidationError

from accounts.models import User, normalize_email
from core.errors import Unauthenticated


class InvalidCredentials(Unauthenticated):
    default_code = "invalid_credentials"
    default_detail = "Invalid email or password."


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
