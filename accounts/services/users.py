"""Changes to the account itself."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User


@transaction.atomic(savepoint=False)
def user_update(*, user: User, first_name: str | None = None, last_name: str | None = None) -> User:
    """Change the user's names (only those given)."""
    changed = []
    for field, value in (("first_name", first_name), ("last_name", last_name)):
        if value is not None:
            setattr(user, field, value)
            changed.append(field)
    if changed:
        user.save(update_fields=changed)
    return user
