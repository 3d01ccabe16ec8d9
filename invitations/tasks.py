"""The invitation email job (``core.jobs``): it mints the invitation's token and sends the link, so no
raw token rests in the queue; each send replaces the token (a resend kills the older link)."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from core.email import email_render, email_send
from core.jobs import email_task
from core.secrets import secret_digest, token_new
from invitations.models import Invitation, InvitationStatus
from tenants.rls.context import tenant_context

TOKEN_PURPOSE = "invitation"


def inviter_name(invitation: Invitation) -> str:
    """Who invited, as the invitee sees it: their name, else their address."""
    inviter = invitation.invited_by
    if inviter is None:
        return f"An administrator of {invitation.org.name}"
    return f"{inviter.first_name} {inviter.last_name}".strip() or inviter.email


@email_task
def send_invitation(*, invitation_id: str, org_id: str) -> str | None:
    """Email a fresh link for a still-pending invitation (none for one revoked or accepted meanwhile)."""
    with tenant_context(org_id):
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("org", "invited_by")
            .filter(pk=invitation_id)
            .first()
        )
        if invitation is None or invitation.status != InvitationStatus.PENDING:
            return None
        token = token_new()
        # The current digest is a placeholder no link carries unless an earlier run of this job sent it.
        invitation.digest_replace(
            secret_digest(token, purpose=TOKEN_PURPOSE), retire=invitation.sent_at is not None
        )
        invitation.sent_at = timezone.now()
        invitation.save(update_fields=["digest", "retired_digests", "sent_at"])
    link = f"{settings.FRONTEND_URL}/invite/{token}"
    context = {
        "link": link,
        "inviter": inviter_name(invitation),
        "org_name": invitation.org.name,
        "role": invitation.get_role_display().lower(),
        "expires_at": invitation.expires_at,
    }
    email_send(email_render("invitations/email/invitation", to=invitation.email, context=context))
    return link
