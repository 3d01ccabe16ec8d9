"""What apikeys does when accounts tells it something (``accounts.signals``)."""

from __future__ import annotations

from django.dispatch import receiver

from accounts.signals import account_claimed
from apikeys.models import ApiKey
from apikeys.services import api_key_end
from tenants.rls.context import cross_tenant


@receiver(account_claimed, dispatch_uid="apikeys.revoke_keys_of_claimed_account")
def revoke_keys_of_claimed_account(sender, *, user, **kwargs) -> list[str]:
    """The keys a claimed account made (in whatever org: the cross-tenant path) were its registrant's, who
    may not be the address's owner: they stop working at once, each audited in its org."""
    with cross_tenant():
        keys = list(ApiKey.objects.select_for_update().filter(created_by_id=user.pk, revoked_at__isnull=True))
        for key in keys:
            api_key_end(key, reason="account_claimed")
    return ["api_keys"] if keys else []
