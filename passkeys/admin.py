from django.contrib import admin

from passkeys.models import Passkey


@admin.register(Passkey)
class PasskeyAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "device_type", "created_at", "last_used_at"]
    list_select_related = ["user"]
    search_fields = ["user__email", "name"]
    fields = [
        "user",
        "name",
        "device_type",
        "backed_up",
        "transports",
        "sign_count",
        "created_at",
        "last_used_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False  # only the owner's browser can make one

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the owner removes theirs (passkeys/<id>/): audited, and never their last way in
