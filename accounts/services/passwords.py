"""Passwords: verification with equal cost for unknown emails, and Django's validators as a 400."""

from __future__ import annotations

import uuid

from django.contrib.auth import password_validation
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import ValidationError

from accounts.models import User, normalize_email
from core.errors import Unauthenticated
from tenants.audit import AuditEventType, audit_record


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


def user_authenticate(*, email: str, password: str, method: str = "password") -> User:
    """The active user with this email and password, or 401 ``invalid_credentials`` (same for any cause).

    A failure is recorded in the audit log with its real reason (``unknown_email``, ``wrong_password``,
    ``inactive_user``: never told to the caller) in a transaction of its own, so it stays although the
    request fails: call this outside any transaction (the sign-in views are non-atomic).
    """
    email = normalize_email(email)
    try:
        user = User.objects.get(email=email)
    except User.DoesNotExist:
        _burn_password_check(password)
        _record_failure(method, "unknown_email", user=None, email=email)
        raise InvalidCredentials() from None
    if not user.check_password(password):
        _record_failure(method, "wrong_password", user=user)
        raise InvalidCredentials()
    if not user.is_active:
        _record_failure(method, "inactive_user", user=user)
        raise InvalidCredentials()
    return user


def _record_failure(method: str, reason: str, *, user: User | None, email: str = "") -> None:
    details = {"method": method, "reason": reason}
    if user is None:
        details["email"] = email  # no user, no org: only staff see this event (the admin)
    audit_record(
        AuditEventType.SIGN_IN_FAILED,
        actor_user_id=None,
        subject_user_id=user.pk if user else None,
        details=details,
        durable=True,
    )
