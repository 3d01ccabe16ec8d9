"""Argon2id with OWASP's minimum parameters (m=19 MiB, t=2, p=1).

Django's default Argon2 parameters (100 MiB, p=8) cost more memory per login without more security
per core on a small host; p=1 keeps one hash on one core, so logins scale with cores. Hashes keep
Django's ``argon2`` prefix, so existing hashes verify and get upgraded on login.
"""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idPasswordHasher(Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
