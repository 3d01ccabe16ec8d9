"""Permissions for org-scoped endpoints (everything under ``org/``)."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from core.errors import Forbidden
from tenants.policy import role_allows, scope_allows


class NoActiveOrg(Forbidden):
    default_code = "no_active_org"
    default_detail = "Choose an organization first (switch-org/)."


class HasActiveOrg(BasePermission):
    """The principal (``request.auth``) acts in an org; the tenant context is already set for it."""

    def has_permission(self, request, view) -> bool:
        if request.user is None:
            return False  # DRF answers 401 with the authenticator's challenge
        if getattr(request.auth, "org", None) is None:
            raise NoActiveOrg()
        return True


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

    def has_permission(self, request, view) -> bool:
        if getattr(request.auth, "api_key_id", None) is not None:
            raise UsersOnly()
        return True


def role_may(resource: str, action: str) -> type[BasePermission]:
    """A permission class: the caller's membership role allows ``action`` on ``resource``
    (``tenants.policy``), else 403 ``insufficient_role``; for an API key its scopes, else 403
    ``insufficient_scope``. Use after :class:`HasActiveOrg`."""

    class RoleMay(BasePermission):
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
