"""The only module that issues or verifies JWTs (SimpleJWT underneath).

A token pair is a pure function of its session row: the ids (``jti``), the issue time (``iat``,
whole seconds) and the identity (user, profile, org, session) are stored on ``accounts.Session``, and
signing is deterministic (HS256 and RS256 by nature, ES256 with RFC 6979 nonces). That is what lets a
racing duplicate refresh inside the grace window receive byte-for-byte the same successor pair
(``accounts.services.sessions.session_refresh``).

Keys: ``settings.JWT_KEYRING`` (``accounts.signing_keys``). With RS256/ES256 every token's header names
its key (``kid``), and verification takes the key, and with it the one algorithm, from the ring by that
``kid``: never from the token's ``alg`` (so no ``none``, and no public key misused as an HMAC secret).

Claims: ``token_type``, ``exp``, ``iat``, ``jti``, ``user_id``, ``profile_id`` (the membership's id),
``org_id``, ``sid``, ``iss`` and ``aud`` (``JWT_ISSUER`` / ``JWT_AUDIENCE``: the backend adds them, and
verification refuses a token without them, ``exp``, ``iat`` or ``jti``), and on access tokens ``amr``
(RFC 8176: how the session signed in).

Time: ``iat`` and ``nbf`` may lie up to ``JWT_LEEWAY_SECONDS`` (0-30, default 10) in the verifier's future,
so a token minted by an instance whose clock runs a little ahead is not refused (and the SPA signed out).
``exp`` gets no leeway: a token is refused from the second it expires on the verifier's clock, which at
worst costs a client one refresh, never a sign-out.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from jwt.algorithms import ECAlgorithm
from jwt.utils import der_to_raw_signature
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenBackendExpiredToken, TokenError
from rest_framework_simplejwt.tokens import Token

from accounts.signing_keys import KeyRing
from core.errors import Unauthenticated
from tenants.policy import SECOND_FACTOR_AMR

IDENTITY_CLAIMS = ("user_id", "profile_id", "org_id", "sid")
# A session whose amr has a second factor (tenants.policy) is at NIST AAL2 ("aal": 2, "acr": "aal2").


class InvalidToken(Unauthenticated):
    default_code = "token_not_valid"
    default_detail = "Token is invalid or expired."


class _DeterministicES256(ECAlgorithm):
    """ES256 with RFC 6979 nonces: the same payload and key always give the same signature, which any
    ES256 verifier accepts like a randomised one."""

    def sign(self, msg: bytes, key: ec.EllipticCurvePrivateKey) -> bytes:
        der = key.sign(msg, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
        return der_to_raw_signature(der, key.curve)


_SIGNER = jwt.PyJWS(algorithms=["HS256", "RS256"])
_SIGNER.register_algorithm("ES256", _DeterministicES256(ECAlgorithm.SHA256))
_REQUIRED_CLAIMS = ["exp", "iat", "jti", "iss", "aud"]


def _unverified_kid(token: Any) -> object:
    """The ``kid`` of a token's header, only to pick the key that then verifies the whole token (the
    signature covers the header). Parsed here, not with ``jwt.get_unverified_header``, which checks
    every segment byte by byte in Python and doubled the cost of a verification."""
    if not isinstance(token, str):
        return None
    head = token.split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, binascii.Error):
        return None
    return header.get("kid") if isinstance(header, dict) else None


class KeyRingBackend(TokenBackend):
    """SimpleJWT's token backend over our key ring (see the module docstring)."""

    def __init__(self, ring: KeyRing) -> None:
        super().__init__(
            ring.algorithm, audience=settings.SIMPLE_JWT["AUDIENCE"], issuer=settings.SIMPLE_JWT["ISSUER"]
        )
        self.ring = ring

    def encode(self, payload: dict[str, Any]) -> str:
        body = json.dumps({**payload, "aud": self.audience, "iss": self.issuer}, separators=(",", ":"))
        headers = {"kid": self.ring.kid} if self.ring.kid else None
        return _SIGNER.encode(body.encode(), self.ring.signing_key, algorithm=self.algorithm, headers=headers)

    def decode(self, token: Any, verify: bool = True) -> dict[str, Any]:
        if not verify:  # nothing here reads a token it has not verified
            raise TokenBackendError("Unverified decoding is not supported")
        try:
            found = self.ring.verifying_key(_unverified_kid(token) if self.ring.kid else None)
            if found is None:
                raise jwt.InvalidTokenError("unknown kid")
            key, algorithm = found
            payload = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=settings.JWT_LEEWAY_SECONDS,
                options={"require": _REQUIRED_CLAIMS},
            )
            # PyJWT's one leeway covers exp as well: skew is forgiven at issue time only (module docstring).
            if int(payload["exp"]) <= time.time():
                raise jwt.ExpiredSignatureError("Signature has expired")
            return payload
        except jwt.ExpiredSignatureError as exc:
            raise TokenBackendExpiredToken("Token is expired") from exc
        except (jwt.InvalidTokenError, ValueError, TypeError) as exc:  # includes a key of the wrong kind
            raise TokenBackendError("Token is invalid") from exc


@lru_cache(maxsize=4)
def _backend_for(ring: KeyRing) -> KeyRingBackend:
    return KeyRingBackend(ring)


def token_backend() -> KeyRingBackend:
    """The backend for the configured keys (read per call, so a test may swap ``JWT_KEYRING``)."""
    return _backend_for(settings.JWT_KEYRING)


class _KeyRingToken(Token):
    def get_token_backend(self) -> KeyRingBackend:
        return token_backend()


class _AccessToken(_KeyRingToken):
    token_type = "access"
    lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"]


class _RefreshToken(_KeyRingToken):
    # Deliberately not SimpleJWT's RefreshToken: revocation lives in our session rows, not its blacklist.
    token_type = "refresh"
    lifetime = settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"]


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    expires_in: int
    refresh_expires_at: int  # the refresh token's exp: the refresh cookie lives exactly as long


@dataclass(frozen=True)
class Claims:
    """The verified identity a token carries."""

    user_id: uuid.UUID
    membership_id: uuid.UUID | None  # the "profile_id" claim
    org_id: uuid.UUID | None
    session_id: uuid.UUID
    jti: uuid.UUID

    def identity_params(self) -> dict[str, uuid.UUID | None]:
        """The identity as named SQL parameters (``sid``, ``user_id``, ``org_id``, ``membership_id``)."""
        return {
            "sid": self.session_id,
            "user_id": self.user_id,
            "org_id": self.org_id,
            "membership_id": self.membership_id,
        }


def access_lifetime_seconds() -> int:
    return settings.JWT_ACCESS_MINUTES * 60


def refresh_lifetime_seconds() -> int:
    return settings.JWT_REFRESH_DAYS * 86400


def _optional_str(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


def _encode(
    token_type: str,
    *,
    jti: uuid.UUID,
    issued_at: int,
    expires_at: int,
    identity: dict[str, str | None],
    extra: dict[str, Any] | None = None,
) -> str:
    # Key order is fixed, so the same inputs always produce the same bytes (the backend appends
    # "aud" and "iss", and the header names the key).
    payload: dict[str, Any] = {
        "token_type": token_type,
        "exp": expires_at,
        "iat": issued_at,
        "jti": jti.hex,
        **identity,
        **(extra or {}),
    }
    return token_backend().encode(payload)


def _assurance(amr: list[str]) -> dict[str, Any]:
    aal = 2 if SECOND_FACTOR_AMR.intersection(amr) else 1
    return {"amr": list(amr), "acr": f"aal{aal}", "aal": aal}


def pair_for_session(session) -> TokenPair:
    """The token pair a session's current state stands for (deterministic; see module docstring)."""
    identity = {
        "user_id": str(session.user_id),
        "profile_id": _optional_str(session.membership_id),
        "org_id": _optional_str(session.active_org_id),
        "sid": str(session.id),
    }
    issued_at = int(session.issued_at)
    refresh_expires = min(issued_at + refresh_lifetime_seconds(), int(session.expires_at.timestamp()))
    return TokenPair(
        access=_encode(
            "access",
            jti=session.access_jti,
            issued_at=issued_at,
            expires_at=issued_at + access_lifetime_seconds(),
            identity=identity,
            extra=_assurance(session.amr),
        ),
        refresh=_encode(
            "refresh",
            jti=session.refresh_jti,
            issued_at=issued_at,
            expires_at=refresh_expires,
            identity=identity,
        ),
        expires_in=access_lifetime_seconds(),
        refresh_expires_at=refresh_expires,
    )


def _decode(token_class: type[Token], raw: str) -> Claims:
    if not isinstance(raw, str) or not raw or len(raw) > 4096:
        raise InvalidToken()
    try:
        payload = token_class(raw).payload  # signature, algorithm, exp, jti and token_type checks
    except TokenError as exc:
        raise InvalidToken() from exc
    try:
        if any(claim not in payload for claim in IDENTITY_CLAIMS):
            raise ValueError("missing identity claim")
        return Claims(
            user_id=uuid.UUID(payload["user_id"]),
            membership_id=uuid.UUID(payload["profile_id"]) if payload["profile_id"] else None,
            org_id=uuid.UUID(payload["org_id"]) if payload["org_id"] else None,
            session_id=uuid.UUID(payload["sid"]),
            jti=uuid.UUID(str(payload["jti"])),
        )
    except (TypeError, ValueError, AttributeError) as exc:
        raise InvalidToken() from exc


def decode_access(raw: str) -> Claims:
    """Verify an access token (a refresh token is refused here)."""
    return _decode(_AccessToken, raw)


def decode_refresh(raw: str) -> Claims:
    """Verify a refresh token (an access token is refused here)."""
    return _decode(_RefreshToken, raw)
