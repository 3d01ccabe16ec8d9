from django.contrib import admin

from social.models import SocialIdentity


@admin.register(SocialIdentity)
class SocialIdentityAdmin(admin.ModelAdmin):
    """Linked identities, per user (search or filter by the user's address); delete to unlink."""

    list_display = ("user", "provider", "email", "created_at", "last_used_at")
    list_filter = ("provider",)
    search_fields = ("user__email", "email", "subject")
    readonly_fields = ("user", "provider", "subject", "email", "created_at", "last_used_at")

    def has_add_permission(self, request) -> bool:
        return False  # identities are linked by signing in with the provider
