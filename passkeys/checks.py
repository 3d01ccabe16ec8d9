"""Start-up checks of the passkey settings (README "Passkeys"): a relying party that browsers accept for
every origin listed. Browsers refuse a ceremony whose RP ID is not the page's host or a parent domain of
it, and WebAuthn itself over plain HTTP anywhere but localhost: such a setting would fail every passkey
at run time, so it fails here first."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security)
def check_webauthn_relying_party(app_configs=None, **kwargs) -> list[Error | Warning]:
    rp_id = settings.WEBAUTHN_RP_ID
    found: list[Error | Warning] = []
    for origin in settings.WEBAUTHN_ORIGINS:
        parts = urlsplit(origin)
        host = parts.hostname or ""
        if parts.scheme not in {"http", "https"} or not host or parts.path not in {"", "/"}:
            found.append(
                Error(
                    f"WEBAUTHN_ORIGINS lists {origin!r}, which is not an origin.",
                    id="passkeys.E001",
                    hint="Write each as scheme://host[:port], e.g. https://app.example.com.",
                )
            )
        elif host != rp_id and not host.endswith("." + rp_id):
            found.append(
                Error(
                    f"WEBAUTHN_RP_ID {rp_id!r} is neither {host!r} nor a parent domain of it: browsers would "
                    f"refuse every passkey ceremony of {origin}.",
                    id="passkeys.E002",
                    hint="Set WEBAUTHN_RP_ID to the SPA's host or a parent domain of it (FRONTEND_URL's host by default).",
                )
            )
        elif parts.scheme == "http" and host != "localhost" and not host.endswith(".localhost"):
            found.append(
                Warning(
                    f"WEBAUTHN_ORIGINS lists {origin!r}: browsers allow passkeys over plain HTTP on localhost only.",
                    id="passkeys.W001",
                    hint="Serve the SPA over HTTPS.",
                )
            )
    return found
