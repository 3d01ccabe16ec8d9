from django.contrib import admin, messages
from django.db import transaction

from core.jobs import job_start
from invitations.models import Invitation
from invitations.services import invitation_close, invitation_renew
from invitations.tasks import send_invitation


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Invitations of every org (the admin is the cross-tenant path); never a token."""

    list_display = ("email", "org", "role", "status", "invited_by", "created_at", "expires_at")
    list_filter = ("role",)
    search_fields = ("email", "org__name")
    readonly_fields = (
        "org", "email", "role", "status", "invited_by", "created_at", "expires_at", "sent_at", "accepted_at",
        "accepted_by", "revoked_at",
    )  # fmt: skip
    fields = readonly_fields
    actions = ["resend", "revoke"]

    @admin.display(description="status")
    def status(self, invitation: Invitation) -> str:
        return invitation.status

    def has_add_permission(self, request) -> bool:
        return False  # invited by an org's admins, through the API

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # the actions below change them

    def _open(self, queryset):
        return queryset.select_for_update().filter(accepted_at__isnull=True, revoked_at__isnull=True)

    @admin.action(description="Resend (new link and expiry; the old link dies)", permissions=["delete"])
    def resend(self, request, queryset):
        with transaction.atomic():
            invitations = [invitation_renew(invitation) for invitation in self._open(queryset)]
            for invitation in invitations:
                job_start(send_invitation, invitation_id=str(invitation.pk), org_id=str(invitation.org_id))
        self.message_user(request, f"{len(invitations)} invitation(s) sent again.", messages.SUCCESS)

    @admin.action(description="Revoke", permissions=["delete"])
    def revoke(self, request, queryset):
        with transaction.atomic():
            invitations = list(self._open(queryset))
            for invitation in invitations:
                invitation_close(invitation)
        self.message_user(request, f"{len(invitations)} invitation(s) revoked.", messages.SUCCESS)
