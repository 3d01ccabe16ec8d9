from django.contrib import admin, messages
from django.db import transaction

from apikeys.models import ApiKey
from apikeys.services import api_key_revoke


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
        with transaction.atomic():  # through the service: each revocation is audited (api_key.revoked)
            keys = list(queryset.filter(revoked_at__isnull=True).values_list("org_id", "id"))
            for org_id, key_id in keys:
                api_key_revoke(org_id=org_id, key_id=key_id)
        self.message_user(request, f"{len(keys)} key(s) revoked.", messages.SUCCESS)
