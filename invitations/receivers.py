"""What invitations does when accounts tells it something (``accounts.signals``)."""

from __future__ import annotations

from django.dispatch import receiver
from django.utils import timezone

from accounts.signals import account_claimed
from invitations.models import Invitation
from invitations.services import invitation_close
from tenants.rls.context import cross_tenant


@receiver(account_claimed, dispatch_uid="invitations.revoke_invitations_of_claimed_account")
def revoke_invitations_of_claimed_account(sender, *, user, **kwargs) -> list[str]:
    """The invitations a claimed account sent that nobody accepted yet (an owner invitation to the
    registrant's other address, say) die: their links stop working, each revocation audited in its org."""
    with cross_tenant():
        pending = list(
            Invitation.objects.select_for_update().filter(
                invited_by_id=user.pk, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
            )
        )
        for invitation in pending:
            invitation_close(invitation)
    return ["invitations"] if pending else []
