"""Writes of the accounts app, one module per flow (HackSoft style: ``<entity>_<action>(*, ...)``).

* :mod:`~accounts.services.passwords` — checking and validating passwords;
* :mod:`~accounts.services.sign_in` — :func:`sign_in`, where every sign-in path ends (password,
  registration, devlogin, and later magic links, Google, invitations): it opens a session and issues
  its pair;
* :mod:`~accounts.services.registration` — sign-up;
* :mod:`~accounts.services.users` — changes to the account itself;
* :mod:`~accounts.services.sessions` — refresh rotation, switch-org and revocation.

Services are atomic without a savepoint of their own (``savepoint=False``): inside a request they join
its transaction, and an error rolls the whole request back anyway, so a savepoint would only add two
round trips to every sign-in.
"""
