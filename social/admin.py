from django.contrib import admin

from accounts.models import User
from social.models import SocialIdentity


@admin.register(SocialIdentity)
class SocialIdentityAdmin(admin.ModelAdmin):
    """Linked identities: search by the user's address, delete to unlink."""

    list_display = ("user", "provider", "email", "created_at", "last_used_at")
    list_filter = ("provider",)
    search_fields = ("user__email", "email", "subject")
    readonly_fields = ("user", "provider", "subject", "email", "created_at", "last_used_at")

    def has_add_permission(self, request) -> bool:
        return False  # identities are linked by signing in with the provider


class SocialIdentityInline(admin.TabularInline):
    model = SocialIdentity
    extra = 0
    fields = ("provider", "email", "subject", "created_at", "last_used_at")
    readonly_fields = fields
    can_delete = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


# The user's page lists their identities (removable there too); accounts cannot name them itself.
_user_admin = admin.site._registry.get(User)
if _user_admin is not None:
    _user_admin.inlines = [*_user_admin.inlines, SocialIdentityInline]
