"""The admin site runs every view through the named cross-tenant path (``tenants.db.cross_tenant``).

Staff manage every org's users and memberships, so admin views are cross-tenant by nature. Template
responses are rendered inside the block: their querysets are lazy and would otherwise be evaluated
after the role switch had ended (and see no tenant rows).
"""

from __future__ import annotations

from functools import wraps

from django.contrib import admin

from tenants.db import cross_tenant


class AuthServiceAdminSite(admin.AdminSite):
    site_header = "authsvc administration"
    site_title = "authsvc admin"

    def admin_view(self, view, cacheable=False):
        protected = super().admin_view(view, cacheable)

        @wraps(view)
        def cross_tenant_view(request, *args, **kwargs):
            with cross_tenant():
                response = protected(request, *args, **kwargs)
                if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                    response.render()
                return response

        return cross_tenant_view
