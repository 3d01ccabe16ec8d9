"""Identity providers: each turns an ID token (or an authorization code) into a verified
:class:`ExternalIdentity`. ``PROVIDERS`` is the registry; another OpenID Connect provider is a subclass
of :class:`Provider` (its issuers, key set, token endpoint and when it is authoritative for an address)
and one line there. Google is the one shipped.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import requests
from cachecontrol import CacheControl
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from google.auth import exceptions as google_exceptions
from google.auth.transport import requests as google_requests
from google.oauth2 import id_token as google_id_token
from rest_framework import status

from core.errors import ApplicationError, InvalidInput, Unauthenticated

logger = logging.getLogger(__name__)

HTTP_TIMEOUT = 10  # seconds, for the key set and the token endpoint


class Refusal(ApplicationError):
    """A refused external sign-in; ``reason`` goes to the audit log (never to the caller)."""

    reason = "refused"


class IdTokenInvalid(Refusal, Unauthenticated):
    default_code = "invalid_id_token"
    default_detail = "The ID token is invalid."

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class InvalidCode(Refusal, InvalidInput):
    default_code = "invalid_code"
    default_detail = "The authorization code is invalid, expired or was already used."
    reason = "invalid_code"


class ProviderUnavailable(Refusal):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "provider_unavailable"
    default_detail = "The identity provider could not be reached. Try again shortly."
    reason = "provider_unavailable"
    public_detail = True  # its code is the contract (API.md, README): not masked as a server_error


class UnknownProvider(InvalidInput):
    default_code = "unknown_provider"
    default_detail = "Unknown identity provider."


@dataclass(frozen=True)
class ExternalIdentity:
    """What a provider vouches for, once its token is verified."""

    provider: str
    subject: str
    email: str
    authoritative: bool  # the provider owns the address's domain: its word on the address is final
    given_name: str = ""
    family_name: str = ""


class Provider:
    name: str

    def verify_id_token(self, token: str) -> ExternalIdentity:
        raise NotImplementedError

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str | None) -> str:
        """The ID token the provider's token endpoint returns for an authorization code."""
        raise NotImplementedError


class _Request(google_requests.Request):
    """google-auth's transport with our timeout (its default is 120 s) on a caching session."""

    def __call__(self, url, method="GET", body=None, headers=None, timeout=HTTP_TIMEOUT, **kwargs):
        return super().__call__(url, method=method, body=body, headers=headers, timeout=timeout, **kwargs)


@functools.cache
def certs_transport() -> _Request:
    """The transport that fetches key sets, per process: CacheControl keeps each response for as long as
    its ``Cache-Control: max-age`` says (Google's: hours), so a sign-in does not fetch the keys — the way
    google-auth's documentation recommends. ``certs_transport.cache_clear()`` forgets them."""
    return _Request(session=CacheControl(requests.Session()))


class GoogleProvider(Provider):
    """Google Identity Services (One Tap, the button) and the OAuth code flow, verified with google-auth."""

    name = "google"
    issuers = frozenset({"accounts.google.com", "https://accounts.google.com"})
    authoritative_domains = frozenset({"gmail.com", "googlemail.com"})

    def verify_id_token(self, token: str) -> ExternalIdentity:
        client_ids = settings.GOOGLE_OAUTH_CLIENT_IDS
        if not client_ids:  # google-auth would skip the audience check with None: accept nothing instead
            logger.warning("an ID token arrived while GOOGLE_OAUTH_CLIENT_IDS is empty")
            raise IdTokenInvalid("not_configured")
        try:
            claims = google_id_token.verify_token(
                token,
                certs_transport(),
                audience=list(client_ids),
                certs_url=settings.GOOGLE_CERTS_URL,
                clock_skew_in_seconds=10,
            )
        except google_exceptions.TransportError as exc:
            logger.warning("Google's key set could not be fetched: %s", exc)
            raise ProviderUnavailable() from exc
        except Exception as exc:  # malformed, bad signature, unknown key, expired, wrong audience: all 401
            raise IdTokenInvalid(_failure_reason(exc)) from exc
        return self._identity(claims)

    def _identity(self, claims: dict) -> ExternalIdentity:
        # google-auth checked the signature, and (x509 key sets) exp/iat/aud; checked again here in types
        # and bounds, so a JWKS key set (its other branch) or an odd claim cannot slip through or 500.
        if not isinstance(claims.get("iss"), str) or claims["iss"] not in self.issuers:
            raise IdTokenInvalid("wrong_issuer")
        if not isinstance(claims.get("aud"), str) or claims["aud"] not in settings.GOOGLE_OAUTH_CLIENT_IDS:
            raise IdTokenInvalid("wrong_audience")
        if not all(isinstance(claims.get(name), int) for name in ("exp", "iat")):
            raise IdTokenInvalid("malformed")
        subject, email, hosted_domain = claims.get("sub"), claims.get("email"), claims.get("hd")
        if not _bounded(subject, 255) or not _bounded(email, 254) or not _is_email(email):
            raise IdTokenInvalid("no_subject_or_email")
        if claims.get("email_verified") not in (True, "true"):
            raise IdTokenInvalid("email_unverified")
        if hosted_domain is not None and not _bounded(hosted_domain, 253):
            raise IdTokenInvalid("malformed")
        allowed_domains = settings.GOOGLE_ALLOWED_HOSTED_DOMAINS
        if allowed_domains and hosted_domain not in allowed_domains:
            raise IdTokenInvalid("hosted_domain_not_allowed")
        domain = email.rsplit("@", 1)[1].lower()
        # Authoritative: a Gmail address, or a Workspace account (hd) whose address is in its own domain.
        hd = (hosted_domain or "").lower()
        workspace = bool(hd) and (domain == hd or domain.endswith(f".{hd}"))
        return ExternalIdentity(
            provider=self.name,
            subject=subject,
            email=email,
            authoritative=domain in self.authoritative_domains or workspace,
            given_name=_name(claims.get("given_name")),
            family_name=_name(claims.get("family_name")),
        )

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str | None) -> str:
        client_ids = settings.GOOGLE_OAUTH_CLIENT_IDS
        if not client_ids or not settings.GOOGLE_OAUTH_CLIENT_SECRET:
            logger.warning("an authorization code arrived while Google's client id or secret is unset")
            raise ProviderUnavailable("Google sign-in is not configured.")
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": client_ids[0],  # the web client: the first of GOOGLE_OAUTH_CLIENT_IDS
            "client_secret": settings.GOOGLE_OAUTH_CLIENT_SECRET,
        }
        if code_verifier:
            form["code_verifier"] = code_verifier
        try:
            response = requests.post(
                settings.GOOGLE_TOKEN_URL,
                data=form,
                headers={"Accept": "application/json"},
                timeout=HTTP_TIMEOUT,
                allow_redirects=False,  # a redirect would carry the client secret elsewhere
            )
        except requests.RequestException as exc:
            logger.warning("Google's token endpoint could not be reached: %s", exc)
            raise ProviderUnavailable() from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        if response.status_code == 400 and body.get("error") in {"invalid_grant", "invalid_request"}:
            raise InvalidCode()  # RFC 6749 §5.2: the code (or its verifier) is bad, expired or spent
        token = body.get("id_token") if response.status_code == 200 else None
        if not isinstance(token, str):
            # invalid_client (a wrong secret), a missing openid scope, an outage: ours to fix, not the user's
            logger.error(
                "Google's token endpoint answered %s (%s) without an ID token",
                response.status_code,
                body.get("error"),
            )
            raise ProviderUnavailable()
        return token


def _bounded(value, length: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= length and "\x00" not in value


def _is_email(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def _name(value) -> str:
    """A name claim as we store it: printable characters only, at most 150."""
    text = value if isinstance(value, str) else ""
    return "".join(ch for ch in text if ch.isprintable())[:150]


def _failure_reason(exc: Exception) -> str:
    """A coarse reason for the audit log, from google-auth's (or PyJWT's) error."""
    text = str(exc).lower()
    for needle, reason in (
        ("expired", "expired"),
        ("audience", "wrong_audience"),
        ("signature", "bad_signature"),
        ("key id", "unknown_key"),
        ("signing key", "unknown_key"),
        ("too early", "not_yet_valid"),
    ):
        if needle in text:
            return reason
    return "malformed"


PROVIDERS: dict[str, Provider] = {provider.name: provider for provider in (GoogleProvider(),)}


def provider_get(name: str) -> Provider:
    """The registered provider ``name``; 400 ``unknown_provider`` otherwise."""
    provider = PROVIDERS.get(name) if isinstance(name, str) else None
    if provider is None:
        raise UnknownProvider()
    return provider
