"""Permissions for org-scoped endpoints (everything under ``org/``)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework.permissions import BasePermission

from core.errors import Forbidden
from tenants.policy import PASSKEY_AMR, SECOND_FACTOR_AMR, role_allows, scope_allows
from tenants.services import MfaEnrolmentRequired, ReauthenticationRequired


class NoActiveOrg(Forbidden):
    default_code = "no_active_org"
    default_detail = "Choose an organization first (switch-org/)."


class HasActiveOrg(BasePermission):
    """The principal (``request.auth``) acts in an org; the tenant context is already set for it.

    An org that requires MFA refuses a user without it (403 ``mfa_enrolment_required``) unless the session
    signed in with a passkey, except on views
    that say ``mfa_policy_exempt`` (leaving the org); API keys are not users and are unaffected."""

    @staticmethod
    def forbidden_codes(view) -> tuple[str, ...]:
        """The 403 codes it answers for ``view`` (``core.openapi`` documents them)."""
        return ("no_active_org",) + (() if _mfa_policy_exempt(view) else ("mfa_enrolment_required",))

    def has_permission(self, request, view) -> bool:
        if request.user is None:
            return False  # DRF answers 401 with the authenticator's challenge
        org = getattr(request.auth, "org", None)
        if org is None:
            raise NoActiveOrg()
        if (
            org.require_mfa
            and getattr(request.auth, "api_key_id", None) is None
            and not _session_is_multi_factor(request.user, request.auth)
            and not _mfa_policy_exempt(view)
        ):
            raise MfaEnrolmentRequired()
        return True


def _session_is_multi_factor(user, auth) -> bool:
    """The session itself passed a second factor (its ``amr``: what it proved, not what the user has set up
    now — a password sign-in that raced an enrolment has MFA on its user but no code behind it), and the
    user still has MFA on, unless that factor was a passkey (multi-factor by itself)."""
    amr = frozenset(getattr(auth, "amr", None) or ())
    return bool(amr & PASSKEY_AMR) or (bool(amr & SECOND_FACTOR_AMR) and user.mfa_enabled)


def _mfa_policy_exempt(view) -> bool:
    return getattr(view, "mfa_policy_exempt", False)


def recently_authenticated(request) -> bool:
    """Whether the caller passes step-up: a user's session that signed in or re-authenticated within
    ``AUTH_REAUTH_MINUTES``, or an API key (no session, no person at a keyboard: its scopes govern it)."""
    if getattr(request.auth, "api_key_id", None) is not None:
        return True
    at = getattr(request.auth, "authenticated_at", None)
    return at is not None and at >= timezone.now() - timedelta(minutes=settings.AUTH_REAUTH_MINUTES)


def require_recent_authentication(request) -> None:
    """Step-up for sensitive actions: 403 ``reauthentication_required`` unless
    :func:`recently_authenticated`. Where only some cases are sensitive (an invitation's role), hand
    :func:`recently_authenticated` to the service instead."""
    if not recently_authenticated(request):
        raise ReauthenticationRequired()


class InsufficientRole(Forbidden):
    default_code = "insufficient_role"
    default_detail = "Your role in this organization does not allow this."


class MissingScope(Forbidden):
    default_code = "insufficient_scope"
    default_detail = "This API key's scopes do not allow this."


class UsersOnly(Forbidden):
    default_code = "api_key_not_allowed"
    default_detail = "This endpoint is for signed-in users, not API keys."


class UserOnly(BasePermission):
    """A signed-in user, not an API key (which has no user): 403 ``api_key_not_allowed`` for a key."""

    @staticmethod
    def forbidden_codes(view) -> tuple[str, ...]:
        return ("api_key_not_allowed",)

    def has_permission(self, request, view) -> bool:
        if getattr(request.auth, "api_key_id", None) is not None:
            raise UsersOnly()
        return True


def keys_may_call(view) -> bool:
    """Whether an API key may call ``view`` at all: no :class:`UserOnly` among its permissions."""
    return not any(isinstance(permission, UserOnly) for permission in view.get_permissions())


def role_may(resource: str, action: str) -> type[BasePermission]:
    """A permission class: the caller's membership role allows ``action`` on ``resource``
    (``tenants.policy``), else 403 ``insufficient_role``; for an API key its scopes, else 403
    ``insufficient_scope``. Use after :class:`HasActiveOrg`."""

    class RoleMay(BasePermission):
        @staticmethod
        def forbidden_codes(view) -> tuple[str, ...]:
            return ("insufficient_role",) + (("insufficient_scope",) if keys_may_call(view) else ())

        def has_permission(self, request, view) -> bool:
            if getattr(request.auth, "api_key_id", None) is not None:  # an API key: its scopes decide
                if not scope_allows(request.auth.scopes, resource, action):
                    raise MissingScope()
                return True
            membership = getattr(request.auth, "membership", None)
            if not role_allows(membership.role if membership else None, resource, action):
                raise InsufficientRole()
            return True

    RoleMay.__name__ = RoleMay.__qualname__ = f"RoleMay_{resource}_{action}"
    return RoleMay
