from django.contrib import admin, messages
from django.db.models.functions import Now

from apikeys.models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys of every org (the admin is the cross-tenant path): never a secret or its digest."""

    list_display = (
        "name",
        "org",
        "prefix",
        "scopes",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("org",)
    search_fields = ("name", "public_id", "org__name")
    fields = (
        "org",
        "name",
        "prefix",
        "scopes",
        "created_by",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False  # keys are created by an org's admins, who see the key once

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Revoke", permissions=["delete"])
    def revoke(self, request, queryset):
        revoked = queryset.filter(revoked_at__isnull=True).update(revoked_at=Now())
        self.message_user(request, f"{revoked} key(s) revoked.", messages.SUCCESS)
