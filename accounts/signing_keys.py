"""The keys that sign and verify our JWTs, and the public key set served at ``/.well-known/jwks.json``.

* ``HS256`` (the zero-configuration default): one shared secret, ``JWT_SIGNING_KEY``; nothing is
  public, so the key set is empty and tokens carry no ``kid``.
* ``RS256`` / ``ES256``: the private key from ``JWT_PRIVATE_KEY`` signs; its public key and those in
  ``JWT_PREVIOUS_PUBLIC_KEYS`` verify (rotation: a retired key keeps verifying until its tokens have
  expired). Every key is named by its RFC 7638 thumbprint (``kid``), and a key decides its own algorithm
  (RSA 2048+ → RS256, P-256 → ES256): a token never chooses how it is checked.

No Django here: ``config.settings`` loads the ring at start-up and refuses a bad configuration there,
before any process serves a request. ``accounts.tokens`` signs and verifies with it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ASYMMETRIC = ("RS256", "ES256")
ALGORITHMS = ("HS256", *ASYMMETRIC)
MIN_RSA_BITS = 2048

_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----.+?-----END \1-----", re.DOTALL)


class KeyConfigError(ValueError):
    """The signing configuration can't be used; the message says which setting and why."""


@dataclass(frozen=True, eq=False)  # identity: key objects don't hash
class VerifyingKey:
    """A public key that verifies tokens, named by its thumbprint."""

    kid: str
    algorithm: str
    key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey

    def jwk(self) -> dict[str, Any]:
        to_jwk = RSAAlgorithm.to_jwk if self.algorithm == "RS256" else ECAlgorithm.to_jwk
        return {**to_jwk(self.key, as_dict=True), "kid": self.kid, "alg": self.algorithm, "use": "sig"}


@dataclass(frozen=True, eq=False)
class KeyRing:
    algorithm: str
    signing_key: Any  # the HS256 secret, or the private key object
    current: VerifyingKey | None  # None with HS256
    previous: tuple[VerifyingKey, ...] = ()
    _by_kid: dict[str, VerifyingKey] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys = [self.current, *self.previous] if self.current else []
        object.__setattr__(self, "_by_kid", {key.kid: key for key in keys})

    @property
    def kid(self) -> str | None:
        return self.current.kid if self.current else None

    def verifying_key(self, kid: object) -> tuple[Any, str] | None:
        """The key and algorithm that verify a token with this ``kid`` header; None if none may.

        HS256 takes no ``kid`` into account: there is one secret. Asymmetric rings require a listed one."""
        if self.current is None:
            return self.signing_key, "HS256"
        key = self._by_kid.get(kid) if isinstance(kid, str) else None
        return (key.key, key.algorithm) if key else None

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The JWK Set (RFC 7517): the current key first; empty with HS256."""
        return {"keys": [key.jwk() for key in self._by_kid.values()]}


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def key_id(public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey) -> str:
    """RFC 7638 JWK thumbprint (SHA-256): the same key always has the same ``kid``, wherever it is loaded."""
    if isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        members = {"e": _b64url_uint(numbers.e), "kty": "RSA", "n": _b64url_uint(numbers.n)}
    else:
        numbers = public_key.public_numbers()
        size = (public_key.curve.key_size + 7) // 8
        members = {
            "crv": "P-256",
            "kty": "EC",
            "x": base64.urlsafe_b64encode(numbers.x.to_bytes(size, "big")).rstrip(b"=").decode(),
            "y": base64.urlsafe_b64encode(numbers.y.to_bytes(size, "big")).rstrip(b"=").decode(),
        }
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


def algorithm_of(key: Any) -> str:
    """The one algorithm a key may be used with, or ``KeyConfigError``."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise KeyConfigError(f"an RSA key of {key.key_size} bits is too weak: use {MIN_RSA_BITS} or more")
        return "RS256"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise KeyConfigError(f"an EC key on {key.curve.name} can't sign ES256: use P-256 (secp256r1)")
        return "ES256"
    raise KeyConfigError(f"a {type(key).__name__} is neither an RSA nor a P-256 key")


def verifying_key(public_key: Any) -> VerifyingKey:
    return VerifyingKey(kid=key_id(public_key), algorithm=algorithm_of(public_key), key=public_key)


def _unescaped(text: str) -> str:
    """A PEM written on one line with literal ``\\n`` escapes (as env files need), as the PEM it stands for."""
    return text if "\n" in text else text.replace("\\n", "\n")


def _pem_text(setting: str, value: str, base_dir: Path) -> str:
    """A setting's PEM: written inline (literal ``\\n`` escapes allowed, as env files need), or a file path."""
    value = value.strip()
    if "-----BEGIN" in value:
        return _unescaped(value)
    path = Path(value).expanduser()
    path = path if path.is_absolute() else base_dir / path
    try:
        return path.read_text()
    except OSError as exc:
        raise KeyConfigError(f"{setting}: can't read {path} ({exc.strerror or exc})") from None


def _pem_blocks(setting: str, text: str) -> list[bytes]:
    blocks = [match.group(0).encode() for match in _PEM_BLOCK.finditer(text)]
    if not blocks:
        raise KeyConfigError(f"{setting} holds no PEM block")
    return blocks


def private_key_load(setting: str, value: str, base_dir: Path) -> Any:
    blocks = _pem_blocks(setting, _pem_text(setting, value, base_dir))
    if len(blocks) != 1:
        raise KeyConfigError(f"{setting} must hold exactly one private key, not {len(blocks)} PEM blocks")
    try:
        return serialization.load_pem_private_key(blocks[0], password=None)
    except (ValueError, TypeError) as exc:
        raise KeyConfigError(f"{setting} is not an unencrypted PEM private key ({exc})") from None


def public_keys_load(setting: str, value: str, base_dir: Path) -> list[Any]:
    """Public keys from PEM text (several blocks may follow each other) and/or comma-separated file paths."""
    value = value.strip()
    if not value:
        return []
    texts = (
        [value]
        if "-----BEGIN" in value
        else [_pem_text(setting, part, base_dir) for part in value.split(",")]
    )
    keys = []
    for text in texts:
        for block in _pem_blocks(setting, _unescaped(text)):
            if b"PRIVATE KEY" in block.split(b"\n", 1)[0]:
                raise KeyConfigError(f"{setting} must list public keys only: it holds a private key")
            try:
                keys.append(serialization.load_pem_public_key(block))
            except (ValueError, TypeError) as exc:
                raise KeyConfigError(
                    f"{setting} holds a PEM block that is not a public key ({exc})"
                ) from None
    return keys


def keyring_load(
    *, algorithm: str, secret: str, private_key: str, previous_public_keys: str, base_dir: Path
) -> KeyRing:
    """The ring the settings describe, or ``KeyConfigError`` saying what to fix."""
    if algorithm not in ALGORITHMS:
        raise KeyConfigError(f"JWT_ALGORITHM must be one of {', '.join(ALGORITHMS)}, not {algorithm!r}")
    previous = [
        verifying_key(key)
        for key in public_keys_load("JWT_PREVIOUS_PUBLIC_KEYS", previous_public_keys, base_dir)
    ]
    if algorithm == "HS256":
        if private_key.strip():
            raise KeyConfigError("JWT_PRIVATE_KEY is set but JWT_ALGORITHM is HS256: set RS256 or ES256")
        if previous:
            raise KeyConfigError("JWT_PREVIOUS_PUBLIC_KEYS only applies to RS256 or ES256")
        return KeyRing(algorithm="HS256", signing_key=secret, current=None)
    if not private_key.strip():
        raise KeyConfigError(
            f"JWT_ALGORITHM={algorithm} needs JWT_PRIVATE_KEY (a PEM private key, or its path)"
        )
    key = private_key_load("JWT_PRIVATE_KEY", private_key, base_dir)
    if algorithm_of(key) != algorithm:
        raise KeyConfigError(
            f"JWT_PRIVATE_KEY is a key for {algorithm_of(key)}, but JWT_ALGORITHM is {algorithm}"
        )
    current = verifying_key(key.public_key())
    return KeyRing(
        algorithm=algorithm,
        signing_key=key,
        current=current,
        previous=tuple(k for k in previous if k.kid != current.kid),
    )


def private_key_generate(algorithm: str) -> Any:
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=MIN_RSA_BITS)
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    raise KeyConfigError(f"can't generate a key for {algorithm}: choose one of {', '.join(ASYMMETRIC)}")


def private_pem(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_pem(key: Any) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
