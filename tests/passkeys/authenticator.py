"""A passkey authenticator in software, for the server's tests: an EC P-256 key (``cryptography``),
"none" attestation, the authenticator data laid out as WebAuthn §6.1 says, CBOR and COSE encoded with
py_webauthn's own encoder. It answers the options the service gives the way a browser and an
authenticator would, and each answer can be bent (another origin, RP ID, no user verification, an old
counter) to see the service refuse it."""

from __future__ import annotations

import hashlib
import json
import os
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import bytes_to_base64url, encode_cbor

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40  # the flags byte


class SoftAuthenticator:
    def __init__(self, *, origin: str = "http://localhost:3000", synced: bool = True) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.origin = origin
        self.synced = synced  # a platform's synced passkey (backed up), else bound to this authenticator
        self.sign_count = 0 if synced else 1  # synced passkeys keep 0; a security key counts its uses
        self.user_handle: str | None = None

    @property
    def id(self) -> str:
        return bytes_to_base64url(self.credential_id)

    def register(
        self,
        options: dict,
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        verified: bool = True,
        framed: bool = False,
    ) -> dict:
        """The browser's JSON for ``navigator.credentials.create(options)`` (``framed``: the page ran in
        another origin's frame)."""
        self.user_handle = options["user"]["id"]
        client_data = self._client_data("webauthn.create", options["challenge"], origin, framed)
        public = self.key.public_key().public_numbers()
        cose = encode_cbor(
            {1: 2, 3: -7, -1: 1, -2: public.x.to_bytes(32, "big"), -3: public.y.to_bytes(32, "big")}
        )
        attested = bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id + cose
        data = self._authenticator_data(rp_id or options["rp"]["id"], verified, AT) + attested
        attestation = encode_cbor({"fmt": "none", "attStmt": {}, "authData": data})
        return {
            "id": self.id,
            "rawId": self.id,
            "type": "public-key",
            "response": {
                "clientDataJSON": bytes_to_base64url(client_data),
                "attestationObject": bytes_to_base64url(attestation),
                "transports": ["internal", "hybrid"],
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def sign_in(
        self,
        options: dict,
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        verified: bool = True,
        sign_count: int | None = None,
        framed: bool = False,
    ) -> dict:
        """The browser's JSON for ``navigator.credentials.get(options)``."""
        if sign_count is not None:
            self.sign_count = sign_count
        elif not self.synced:
            self.sign_count += 1
        client_data = self._client_data("webauthn.get", options["challenge"], origin, framed)
        data = self._authenticator_data(rp_id or options["rpId"], verified, 0)
        signature = self.key.sign(data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {
            "id": self.id,
            "rawId": self.id,
            "type": "public-key",
            "response": {
                "clientDataJSON": bytes_to_base64url(client_data),
                "authenticatorData": bytes_to_base64url(data),
                "signature": bytes_to_base64url(signature),
                "userHandle": self.user_handle,
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def _client_data(self, kind: str, challenge: str, origin: str | None, framed: bool) -> bytes:
        data = {"type": kind, "challenge": challenge, "origin": origin or self.origin, "crossOrigin": framed}
        if framed:
            data["topOrigin"] = "https://evil.example"
        return json.dumps(data).encode()

    def _authenticator_data(self, rp_id: str, verified: bool, extra: int) -> bytes:
        flags = UP | (UV if verified else 0) | (BE | BS if self.synced else 0) | extra
        return hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", self.sign_count)
