"""Signals accounts sends to the feature apps above it (which it must not import).

``user_registered(sender=User, user, meta)``: sent by ``accounts.services.registration.user_register``
inside the registration's transaction (a receiver's writes commit or roll back with it). ``magiclinks``
emails the new address its verification link.
"""

from django.dispatch import Signal

user_registered = Signal()
