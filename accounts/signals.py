"""Signals accounts sends to the feature apps above it (which it must not import).

``user_registered(sender=User, user, meta)``: sent by ``accounts.services.registration.user_register``
inside the registration's transaction (a receiver's writes commit or roll back with it). ``magiclinks``
emails the new address its verification link.

``account_claimed(sender=User, user)``: sent by ``accounts.services.users.account_claim`` inside the
claim's transaction, once the account's own ways in are gone. Each receiver removes what the registrant
set up in its feature (``apikeys``: the keys they made; ``invitations``: the invitations they sent that
are still pending) and returns the names of what it removed, for the claim's one audit event.
"""

from django.dispatch import Signal

user_registered = Signal()
account_claimed = Signal()
