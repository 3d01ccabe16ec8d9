"""The admin site runs every view through the named cross-tenant path (``tenants.db.cross_tenant``).

Staff manage every org's users and memberships, so admin views are cross-tenant by nature. Template
responses are rendered inside the block: their querysets are lazy and would otherwise be evaluated
after the role switch had ended (and see no tenant rows).
"""

from __future__ import annotations

import math
from functools import wraps
from types import SimpleNamespace

from django.contrib import admin
from django.http import HttpResponse

from accounts.throttles import EmailRateThrottle, IPRateThrottle
from tenants.db import cross_tenant

# Admin sign-ins share the API's "login" buckets (per IP and per submitted email): staff accounts
# see every org, so they are the last ones to leave open to password guessing.
_LOGIN_SCOPE = SimpleNamespace(throttle_scope="login")


class AuthServiceAdminSite(admin.AdminSite):
    site_header = "authsvc administration"
    site_title = "authsvc admin"

    def login(self, request, extra_context=None):
        if request.method == "POST":
            for throttle in (IPRateThrottle(), EmailRateThrottle()):
                if not throttle.allow_request(request, _LOGIN_SCOPE):
                    retry_after = str(math.ceil(throttle.wait() or 1))
                    return HttpResponse(
                        "Too many sign-in attempts. Try again later.",
                        status=429,
                        content_type="text/plain",
                        headers={"Retry-After": retry_after},
                    )
        return super().login(request, extra_context)

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
