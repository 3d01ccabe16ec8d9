from django.contrib import admin, messages
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from magiclinks.models import EmailToken, EndReason


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("pending", "pending"), ("ended", "used or expired by an admin"), ("expired", "expired")]

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(ended_at__isnull=True, expires_at__gt=Now())
        if self.value() == "ended":
            return queryset.filter(ended_at__isnull=False)
        if self.value() == "expired":
            return queryset.filter(ended_at__isnull=True, expires_at__lte=Now())
        return queryset


@admin.register(EmailToken)
class EmailTokenAdmin(admin.ModelAdmin):
    """Emailed links: who asked, when, and whether they are still pending. Only digests are stored, so
    no token can be shown; an admin can expire a pending one (``Expire now``)."""

    list_display = ("email", "purpose", "status", "created_at", "expires_at", "code_attempts", "ip")
    list_filter = (StatusFilter, "purpose")
    search_fields = ("email",)
    ordering = ("-created_at",)
    fields = (
        "purpose", "email", "user", "status", "created_at", "expires_at", "ended_at", "end_reason",
        "code_attempts", "ip", "user_agent",
    )  # fmt: skip
    readonly_fields = fields
    actions = ["expire_now"]

    @admin.display(description="status")
    def status(self, token: EmailToken) -> str:
        if token.ended_at is not None:
            return token.get_end_reason_display() or "ended"
        return "pending" if token.expires_at > timezone.now() else "expired"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # read-only; `expire_now` is an action

    @admin.action(description="Expire now", permissions=["delete"])
    def expire_now(self, request, queryset):
        expired = queryset.filter(Q(ended_at__isnull=True)).update(
            ended_at=Now(), end_reason=EndReason.EXPIRED_BY_ADMIN
        )
        self.message_user(request, f"{expired} link(s) expired.", messages.SUCCESS)
