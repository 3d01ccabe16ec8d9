"""Key rings for tests: generated once per process and kept, since RSA generation is slow."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from django.conf import settings

from accounts.signing_keys import KeyRing, keyring_load, private_key_generate, private_pem, public_pem


def private_key(algorithm: str, number: int = 0):
    return _generated(algorithm, number)


@cache
def _generated(algorithm: str, number: int):
    return private_key_generate(algorithm)


def public_key_pem(algorithm: str, number: int = 0) -> str:
    return public_pem(private_key(algorithm, number).public_key())


def keyring(algorithm: str, number: int = 0, previous: tuple[tuple[str, int], ...] = ()) -> KeyRing:
    """The ring of key ``number`` for ``algorithm``, with the public keys ``previous`` still verifying."""
    if algorithm == "HS256":
        return keyring_load(
            algorithm="HS256",
            secret=settings.JWT_SIGNING_KEY,
            private_key="",
            previous_public_keys="",
            base_dir=Path("."),
        )
    return keyring_load(
        algorithm=algorithm,
        secret=settings.JWT_SIGNING_KEY,
        private_key=private_pem(private_key(algorithm, number)),
        previous_public_keys="".join(public_key_pem(*entry) for entry in previous),
        base_dir=Path("."),
    )
