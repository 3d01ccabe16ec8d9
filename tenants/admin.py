from __future__ import annotations

from django.contrib import admin

from tenants.models import AuditEvent, Membership, Organization


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("user", "role", "is_active", "joined_at")
    readonly_fields = ("joined_at",)
    autocomplete_fields = ("user",)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "org", "role", "is_active", "joined_at")
    list_filter = ("role", "is_active")
    search_fields = ("user__email", "org__name", "org__slug")
    autocomplete_fields = ("user", "org")
    list_select_related = ("user", "org")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: events cannot be added, edited or deleted here (retention: ``manage.py audit_purge``).

    Staff see every event, including those with neither org nor user (failed sign-ins for unknown
    emails), through the admin's cross-tenant path."""

    list_display = ("occurred_at", "type", "org", "actor_user", "subject_user", "subject_type", "ip")
    list_filter = ("type", ("occurred_at", admin.DateFieldListFilter), "subject_type")
    search_fields = ("actor_user__email", "subject_user__email", "subject_id", "ip", "org__slug")
    list_select_related = ("org", "actor_user", "subject_user")
    date_hierarchy = "occurred_at"
    ordering = ("-occurred_at",)
    readonly_fields = [field.name for field in AuditEvent._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
