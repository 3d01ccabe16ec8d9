"""A Google stand-in on loopback: a key set (x509 certificates, as Google's v1 certs document) and a
token endpoint, both counting their requests, and ID tokens signed here with the matching key
(google-auth's own ``crypt.RSASigner`` + ``jwt.encode``). Google itself is unreachable from CI.

Used by tests/social (in process) and tests/e2e (the served app's GOOGLE_CERTS_URL / GOOGLE_TOKEN_URL)."""

from __future__ import annotations

import contextlib
import datetime
import functools
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt
from google.auth import jwt as google_jwt

CLIENT_ID = "web-client.apps.googleusercontent.com"
OTHER_CLIENT_ID = "android-client.apps.googleusercontent.com"
ISSUER = "https://accounts.google.com"


def _key_and_certificate() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-google-signer")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return private_pem, certificate.public_bytes(serialization.Encoding.PEM).decode()


# Key generation costs ~50 ms: once per test session (a second key for "signed by someone else").
KEY_PEM, CERT_PEM = _key_and_certificate()
STRANGER_KEY_PEM, _ = _key_and_certificate()


@functools.cache
def _signer(key_pem: str, kid: str) -> crypt.RSASigner:
    """Loading a PEM key costs ~30 ms (cryptography checks it): once per key and kid."""
    return crypt.RSASigner.from_string(key_pem, key_id=kid)


@dataclass
class FakeGoogle:
    """What the tests drive: the served key set, the codes the token endpoint accepts, request counts."""

    base_url: str = ""
    certs: dict[str, str] = field(default_factory=lambda: {"kid-1": CERT_PEM})
    max_age: int = 3600
    codes: dict[str, str] = field(default_factory=dict)  # code -> id_token
    token_status: int | None = None  # force an answer of the token endpoint (e.g. 500)
    certs_fetches: int = 0
    token_requests: list[dict[str, str]] = field(default_factory=list)

    @property
    def certs_url(self) -> str:
        return f"{self.base_url}/certs"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    def id_token(
        self, *, kid: str = "kid-1", key_pem: str = KEY_PEM, omit: tuple[str, ...] = (), **claims
    ) -> str:
        """A Google-shaped ID token for Ada, signed with ``key_pem`` under ``kid``; ``claims`` override,
        ``omit`` drops."""
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "aud": CLIENT_ID,
            "azp": CLIENT_ID,
            "sub": "google-sub-ada",
            "email": "ada@gmail.com",
            "email_verified": True,
            "given_name": "Ada",
            "family_name": "Lovelace",
            "iat": now,
            "exp": now + 3600,
            **claims,
        }
        for name in omit:
            payload.pop(name, None)
        return google_jwt.encode(_signer(key_pem, kid), payload).decode()

    def code_for(self, id_token: str) -> str:
        code = f"code-{len(self.codes)}"
        self.codes[code] = id_token
        return code


def _handler(google: FakeGoogle):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def _json(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path != "/certs":
                return self._json(404, {})
            google.certs_fetches += 1
            return self._json(200, google.certs, {"Cache-Control": f"public, max-age={google.max_age}"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            google.token_requests.append(form)
            if self.path != "/token":
                return self._json(404, {})
            if google.token_status is not None:
                return self._json(google.token_status, {"error": "server_error"})
            id_token = google.codes.pop(form.get("code", ""), None)
            if id_token is None or form.get("grant_type") != "authorization_code":
                return self._json(400, {"error": "invalid_grant", "error_description": "Bad Request"})
            return self._json(200, {"access_token": "ya29.x", "id_token": id_token, "token_type": "Bearer"})

    return Handler


@contextlib.contextmanager
def serve() -> Iterator[FakeGoogle]:
    """The stand-in, served on a free loopback port until the block ends."""
    google = FakeGoogle()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(google))
    google.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield google
    finally:
        server.shutdown()
