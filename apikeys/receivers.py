"""What apikeys does when accounts tells it something (``accounts.signals``)."""

from __future__ import annotations

from django.dispatch import receiver
from django.utils import timezone

from accounts.signals import account_claimed
from apikeys.models import ApiKey
from apikeys.services import api_key_revoked_record
from tenants.rls.context import cross_tenant


@receiver(account_claimed, dispatch_uid="apikeys.revoke_keys_of_claimed_account")
def revoke_keys_of_claimed_account(sender, *, user, **kwargs) -> list[str]:
    """The keys a claimed account made (in whatever org: the cross-tenant path) were its registrant's, who
    may not be the address's owner: they stop working at once, each audited in its org."""
    with cross_tenant():
        keys = list(ApiKey.objects.select_for_update().filter(created_by_id=user.pk, revoked_at__isnull=True))
        now = timezone.now()
        for key in keys:
            key.revoked_at = now
            key.save(update_fields=["revoked_at"])
            api_key_revoked_record(key, reason="account_claimed")
    return ["api_keys"] if keys else []
