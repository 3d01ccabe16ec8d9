"""Permissions for org-scoped endpoints (everything under ``org/``)."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from core.errors import Forbidden


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
