"""Start-up checks of the password blocklists: a list that can't be read must not pass silently."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

from accounts.validators import (
    BREACHED_FILE_ERRORS,
    SHIPPED_BREACHED_PASSWORDS,
    breached_passwords_file_read,
    shipped_breached_passwords,
)


@register(Tags.security)
def check_breached_password_lists(app_configs=None, **kwargs) -> list[CheckMessage]:
    """The shipped list and ``AUTH_BREACHED_PASSWORDS_FILE`` must be readable: at validation time an
    unreadable operator file is only logged (sign-up must not answer 500), so this is where it shows.
    Reading it here also fills the per-path cache the validator uses."""
    errors: list[CheckMessage] = []
    path = settings.AUTH_BREACHED_PASSWORDS_FILE
    if path:
        try:
            breached_passwords_file_read(path)
        except BREACHED_FILE_ERRORS as exc:
            errors.append(
                Error(
                    f"AUTH_BREACHED_PASSWORDS_FILE could not be read: {exc}",
                    id="accounts.E001",
                    hint="Point it at a readable file (one password or SHA-1 a line, gzip if named .gz), "
                    "or set it empty to check the shipped list only.",
                )
            )
    try:
        shipped_breached_passwords()
    except BREACHED_FILE_ERRORS as exc:
        errors.append(
            Error(
                f"The shipped breached-password list {SHIPPED_BREACHED_PASSWORDS} could not be read: {exc}",
                id="accounts.E002",
                hint="Reinstall the package with its data files (pyproject.toml package-data).",
            )
        )
    return errors


@register(Tags.security)
def check_pwned_passwords_range_api(app_configs=None, **kwargs) -> list[CheckMessage]:
    """A malformed URL or timeout would make every range check fail, and a failed check lets every
    password through with only a warning in the log: say so at start-up instead."""
    errors: list[CheckMessage] = []
    url = settings.AUTH_PWNED_PASSWORDS_URL
    if url and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc):
        errors.append(
            Error(
                f"AUTH_PWNED_PASSWORDS_URL {url!r} is not an http(s) URL.",
                id="accounts.E003",
                hint="Use the range API's base, such as https://api.pwnedpasswords.com/range/, or set it "
                "empty to turn the check off.",
            )
        )
    if url and not settings.AUTH_PWNED_PASSWORDS_TIMEOUT > 0:
        errors.append(
            Error(
                f"AUTH_PWNED_PASSWORDS_TIMEOUT must be a positive number of seconds, not "
                f"{settings.AUTH_PWNED_PASSWORDS_TIMEOUT!r}.",
                id="accounts.E004",
            )
        )
    return errors
