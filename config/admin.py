"""The admin site runs every view through the named cross-tenant path (``tenants.rls.context.cross_tenant``).

Staff manage every org's users and memberships, so admin views are cross-tenant by nature. Template
responses are rendered inside the block: their querysets are lazy and would otherwise be evaluated
after the role switch had ended (and see no tenant rows).
"""

from __future__ import annotations

import math
from functools import wraps
from types import SimpleNamespace

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpResponse

from accounts.models import User, normalize_email
from accounts.services.mfa import InvalidCode, MfaLocked, second_factor_check
from accounts.throttles import settle_sign_in, sign_in_throttles
from tenants.audit import AuditEventType, audit_record
from tenants.rls.context import cross_tenant

# Admin sign-ins share the API's "login" buckets (per network, and failures per email): staff accounts
# see every org, so they are the last ones to leave open to password guessing.
_LOGIN_SCOPE = SimpleNamespace(throttle_scope="login", throttle_email_field="username")


def _looks_like_email(text: str) -> bool:
    try:
        validate_email(text)
    except ValidationError:
        return False
    return True


def _record_admin_sign_in(request, *, succeeded: bool) -> None:
    """The admin's sign-ins in the audit log (the response commits the request transaction)."""
    if succeeded:
        audit_record(
            AuditEventType.SIGN_IN_SUCCEEDED,
            actor_user_id=request.user.pk,
            subject_user_id=request.user.pk,
            details={"method": "admin"},
        )
        return
    email = normalize_email(request.POST.get("username", ""))
    try:
        user_id = User.objects.filter(email=email).values_list("id", flat=True).first() if email else None
    except UnicodeEncodeError:  # a lone surrogate cannot reach the database
        email, user_id = "", None
    details = {
        "method": "admin",
        "reason": "unknown_email" if user_id is None else "wrong_password_or_not_staff",
    }
    if user_id is None and _looks_like_email(email):
        details["email"] = email  # a password typed into the username field is never kept
    audit_record(AuditEventType.SIGN_IN_FAILED, actor_user_id=None, subject_user_id=user_id, details=details)


class MfaAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin's login, with the second step a staff account with MFA on owes, as every API sign-in
    does (``accounts.services.sign_in``): the authenticator's code or a recovery code, in the same form."""

    code = forms.CharField(
        label="Authenticator code",
        required=False,
        max_length=64,
        strip=True,
        help_text="With multi-factor authentication on: the 6 digits of your app, or a recovery code.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)  # active and staff
        if not user.mfa_enabled:
            return
        code = self.cleaned_data.get("code") or ""
        if not code:  # the password alone, first: no guess was made, so none is counted
            raise ValidationError(
                "Enter the code of your authenticator app (or a recovery code).", code="mfa_required"
            )
        is_totp = len(code) == 6 and code.isascii() and code.isdigit()
        try:
            second_factor_check(
                user, code=code if is_totp else None, recovery_code=None if is_totp else code, context="admin"
            )
        except MfaLocked as locked:
            raise ValidationError(str(locked.detail), code="mfa_locked") from None
        except InvalidCode:
            raise ValidationError(
                "Enter the code of your authenticator app (or a recovery code).", code="mfa_required"
            ) from None


class AuthServiceAdminSite(admin.AdminSite):
    site_header = "authsvc administration"
    site_title = "authsvc admin"
    login_form = MfaAdminAuthenticationForm

    def login(self, request, extra_context=None):
        if request.method != "POST":
            return super().login(request, extra_context)
        throttles = sign_in_throttles()
        waits = [
            throttle.wait() for throttle in throttles if not throttle.allow_request(request, _LOGIN_SCOPE)
        ]
        if waits:
            settle_sign_in(throttles, outcome="other")
            return HttpResponse(
                "Too many sign-in attempts. Try again later.",
                status=429,
                content_type="text/plain",
                headers={"Retry-After": str(math.ceil(max(wait or 1 for wait in waits)))},
            )
        response = super().login(request, extra_context)
        # The form redirects on success and shows itself again on a failed guess.
        succeeded = response.status_code == 302
        settle_sign_in(throttles, outcome="success" if succeeded else "failure")
        _record_admin_sign_in(request, succeeded=succeeded)
        return response

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
