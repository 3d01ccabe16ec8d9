from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import transaction

from accounts.models import RevokeReason, Session, User
from accounts.services.mfa import mfa_remove
from accounts.services.sessions import sessions_revoke, sessions_revoke_for_user
from tenants.audit import AuditEventType, audit_record


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "first_name", "last_name", "is_active", "mfa_enabled", "is_staff", "date_joined")
    list_filter = ("is_active", "mfa_enabled", "is_staff", "is_superuser")
    search_fields = ("email", "first_name", "last_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Multi-factor", {"fields": ("mfa_enabled",)}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    readonly_fields = ("mfa_enabled",)  # turned off with the reset action below, never by a checkbox
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    # A password change (the admin's password form included) and deactivation end the user's sessions
    # in the model and the database (accounts.models.User), not here.
    actions = ["revoke_all_sessions", "reset_mfa"]

    @admin.action(description="Revoke all sessions (sign out everywhere)")
    def revoke_all_sessions(self, request, queryset):
        count = sum(
            sessions_revoke_for_user(user_id=user_id, reason=RevokeReason.ADMIN)
            for user_id in queryset.values_list("id", flat=True)
        )
        self.message_user(request, f"Revoked {count} session(s).", messages.SUCCESS)

    @admin.action(description="Reset MFA (delete the authenticator and recovery codes)")
    def reset_mfa(self, request, queryset):
        """For a user who lost their authenticator and recovery codes: they sign in with the first factor
        alone again, and may enrol anew. Audited as mfa.reset_by_admin, with the admin as actor."""
        count = 0
        for user in queryset.filter(mfa_enabled=True):
            with transaction.atomic():
                mfa_remove(user)
                audit_record(
                    AuditEventType.MFA_RESET_BY_ADMIN, actor_user_id=request.user.pk, subject_user_id=user.pk
                )
            count += 1
        self.message_user(request, f"Reset MFA of {count} user(s).", messages.SUCCESS)


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "active_org", "created_at", "last_used_at", "revoked_at", "revoked_reason")
    list_filter = ("revoked_reason",)
    search_fields = ("user__email",)
    list_select_related = ("user", "active_org")
    readonly_fields = [field.name for field in Session._meta.fields]
    actions = ["revoke_sessions"]

    @admin.action(description="Revoke selected sessions")
    def revoke_sessions(self, request, queryset):
        count = sessions_revoke(
            session_ids=list(queryset.values_list("id", flat=True)), reason=RevokeReason.ADMIN
        )
        self.message_user(request, f"Revoked {count} session(s).", messages.SUCCESS)

    def has_add_permission(self, request) -> bool:
        return False
