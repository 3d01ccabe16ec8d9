"""Password rules beyond Django's validators (NIST SP 800-63B: length, blocklist, no composition).

The blocklist has three layers: Django's ``CommonPasswordValidator`` (its ~20,000 common passwords), the
offline :class:`BreachedPasswordValidator` (a shipped list of breached passwords, see
``accounts/data/README.md``, plus the operator's ``AUTH_BREACHED_PASSWORDS_FILE``) and the optional, online
:class:`PwnedPasswordsRangeValidator` (a k-anonymity query to ``AUTH_PWNED_PASSWORDS_URL``).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import logging
import re
import time
import zlib
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import IO

import requests
import urllib3
from django.conf import settings
from django.core.exceptions import ValidationError

logger = logging.getLogger(__name__)

SHIPPED_BREACHED_PASSWORDS = Path(__file__).resolve().parent / "data" / "breached-passwords.txt.gz"
# Never the password itself: a rejection says why, and nothing a shoulder-surfer or a log could reuse.
BREACHED_MESSAGE = (
    "This password has appeared in a data breach, so attackers try it first. Choose a different one."
)
BREACHED_HELP_TEXT = "Your password can't be one that has appeared in a data breach."
# What reading the operator's file can raise: missing, unreadable, a directory, a broken gzip stream.
BREACHED_FILE_ERRORS = (OSError, EOFError, zlib.error)

_SHA1_LINE = re.compile(r"(?P<digest>[0-9A-Fa-f]{40})(?::\d+)?")  # Have I Been Pwned's "HASH:COUNT"
# A count of up to 12 digits (the largest today has 8): a longer one is a hostile answer, and int() of
# thousands of digits would raise (Python's integer-string limit) instead of failing the check softly.
_RANGE_LINE = re.compile(r"(?P<suffix>[0-9A-Fa-f]{35}):(?P<count>\d{1,12})")
RANGE_USER_AGENT = "authsvc-password-check (k-anonymity range query)"
RANGE_RESPONSE_MAX_BYTES = 1 << 20  # a real answer, padded, is about 40 KB


class MaximumLengthValidator:
    """Refuse passwords longer than ``max_length`` characters (never truncate them)."""

    def __init__(self, max_length: int = 128) -> None:
        self.max_length = max_length

    def validate(self, password: str, user=None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(
                f"This password is too long. It must contain at most {self.max_length} characters.",
                code="password_too_long",
            )

    def get_help_text(self) -> str:
        return f"Your password must contain at most {self.max_length} characters."


def _sha1_hex(password: str) -> str:
    # SHA-1 because that is what breach corpora publish; it only names a list entry, it protects nothing.
    return hashlib.sha1(password.encode("utf-8"), usedforsecurity=False).hexdigest().upper()


def _normalized(password: str) -> str:
    """What plaintext entries are compared with: case-insensitive, as Django's common-password list."""
    return password.lower().strip()


@dataclass(frozen=True)
class BreachedPasswords:
    """A parsed list: plaintext entries (normalized) and SHA-1 digests of exact passwords (raw bytes)."""

    plaintext: frozenset[str] = frozenset()
    sha1_digests: frozenset[bytes] = frozenset()

    def __contains__(self, password: str) -> bool:
        if _normalized(password) in self.plaintext:
            return True
        return bool(self.sha1_digests) and bytes.fromhex(_sha1_hex(password)) in self.sha1_digests


def _open_text(path: Path) -> IO[str]:
    # Breach dumps are not always UTF-8: an undecodable line becomes one no real password equals.
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return path.open(encoding="utf-8", errors="replace")


@functools.cache
def shipped_breached_passwords() -> BreachedPasswords:
    """The list shipped in ``accounts/data`` (one lower-cased password a line), read once per process."""
    with gzip.open(SHIPPED_BREACHED_PASSWORDS, "rt", encoding="utf-8") as lines:
        return BreachedPasswords(plaintext=frozenset(filter(None, (_normalized(line) for line in lines))))


@functools.lru_cache(maxsize=4)
def breached_passwords_file_read(path: str) -> BreachedPasswords:
    """Parse an operator's list, once per path for the life of the process (an edit needs a restart).

    One entry a line; blank lines and ``#`` comments are skipped; a ``.gz`` name is read as gzip. A line of
    exactly 40 hex characters, optionally followed by ``:count`` (Have I Been Pwned's download format), is
    the SHA-1 of the exact password, in either case; any other line is a plaintext password compared
    case-insensitively. Raises one of :data:`BREACHED_FILE_ERRORS` when the file can't be read (a
    failure is not cached: the next call tries again).
    """
    plaintext: set[str] = set()
    sha1_digests: set[bytes] = set()
    with _open_text(Path(path)) as lines:
        for raw_line in lines:
            line = raw_line.strip()
            if not line or line.startswith("#"):
                continue
            if match := _SHA1_LINE.fullmatch(line):
                sha1_digests.add(bytes.fromhex(match["digest"]))
            else:
                plaintext.add(_normalized(line))
    return BreachedPasswords(plaintext=frozenset(plaintext), sha1_digests=frozenset(sha1_digests))


def operator_breached_passwords() -> BreachedPasswords:
    """The operator's ``AUTH_BREACHED_PASSWORDS_FILE`` (read at call time, so a settings change applies).

    An unreadable file is a system check error at start-up (``accounts.E001``); should it become
    unreadable later, sign-up must not answer 500 for it: the error is logged and the shipped list (and
    Django's) still apply.
    """
    path = settings.AUTH_BREACHED_PASSWORDS_FILE
    if not path:
        return BreachedPasswords()
    try:
        return breached_passwords_file_read(path)
    except BREACHED_FILE_ERRORS as exc:
        logger.error("AUTH_BREACHED_PASSWORDS_FILE could not be read, only the shipped list applies: %s", exc)
        return BreachedPasswords()


class BreachedPasswordValidator:
    """Refuse a password found in the shipped breached-password list or the operator's file (offline)."""

    def validate(self, password: str, user=None) -> None:
        if password in shipped_breached_passwords() or password in operator_breached_passwords():
            raise ValidationError(BREACHED_MESSAGE, code="password_breached")

    def get_help_text(self) -> str:
        return BREACHED_HELP_TEXT


class RangeCheckUnavailable(Exception):
    """The range query gave no usable answer; the message is safe to log (no password, no hash)."""


class PwnedPasswordsRangeValidator:
    """Refuse a password that a Pwned-Passwords-compatible range API knows (``AUTH_PWNED_PASSWORDS_URL``).

    k-anonymity: only the first 5 hex characters of the password's SHA-1 leave the process, as the path
    ``<url><prefix>``; the server answers every ``SUFFIX:COUNT`` it holds under that prefix and the match is
    made here. ``Add-Padding: true`` asks it to pad the answer with fake ``SUFFIX:0`` lines, so the
    answer's size doesn't tell an observer which prefix was asked; those lines never reject.

    Off while the URL is empty (the default). The check is a second opinion, never a gate: a timeout, a
    refused connection, a non-200 answer or one that isn't ``SUFFIX:COUNT`` lines is logged as a warning
    (without the password or its hash) and the password passes.
    """

    def validate(self, password: str, user=None) -> None:
        base_url = settings.AUTH_PWNED_PASSWORDS_URL
        if not base_url:
            return
        digest = _sha1_hex(password)
        prefix, suffix = digest[:5], digest[5:]
        try:
            counts = range_counts(
                range_fetch(f"{base_url.rstrip('/')}/{prefix}", timeout=settings.AUTH_PWNED_PASSWORDS_TIMEOUT)
            )
        except RangeCheckUnavailable as exc:
            logger.warning("the Pwned Passwords range check against %s was skipped: %s", base_url, exc)
            return
        if counts.get(suffix, 0) > 0:
            raise ValidationError(BREACHED_MESSAGE, code="password_breached")

    def get_help_text(self) -> str:
        return BREACHED_HELP_TEXT


def range_fetch(url: str, *, timeout: float) -> bytes:
    """GET one range. ``timeout`` bounds the connection and each read, and the body as a whole must be in
    within it too, so a server that trickles bytes can't hold a sign-up (reads are ``read1``: whatever
    one read brings, not a full buffer). No redirects: the prefix goes to the configured server only.
    Raises :class:`RangeCheckUnavailable`."""
    deadline = time.monotonic() + timeout
    headers = {"Add-Padding": "true", "User-Agent": RANGE_USER_AGENT}
    body = bytearray()
    try:
        with requests.get(
            url, headers=headers, timeout=timeout, stream=True, allow_redirects=False
        ) as answer:
            if answer.status_code != HTTPStatus.OK:
                raise RangeCheckUnavailable(f"the server answered HTTP {answer.status_code}")
            # urllib3 >= 2.2 has read1; an older one's read waits for a full 64 KiB (or the end), which
            # still caps the size but makes the deadline coarser.
            read = getattr(answer.raw, "read1", answer.raw.read)
            while chunk := read(64 * 1024, decode_content=True):
                body += chunk
                if len(body) > RANGE_RESPONSE_MAX_BYTES:
                    raise RangeCheckUnavailable(f"the answer is over {RANGE_RESPONSE_MAX_BYTES} bytes")
                if time.monotonic() > deadline:
                    raise RangeCheckUnavailable(f"the answer took over {timeout} s")
    # ValueError: an unusable timeout value; urllib3's errors: the body's reads (requests wraps the rest).
    except (requests.RequestException, urllib3.exceptions.HTTPError, ValueError) as exc:
        # The exception's text would carry the URL, and with it the prefix: its class says enough.
        raise RangeCheckUnavailable(type(exc).__name__) from None
    return bytes(body)


def range_counts(body: bytes) -> dict[str, int]:
    """``{SUFFIX: count}`` of a range answer (suffixes upper-cased); anything else in it is refused."""
    counts: dict[str, int] = {}
    for line in body.decode("ascii", errors="replace").splitlines():
        line = line.strip()
        if not line:
            continue
        match = _RANGE_LINE.fullmatch(line)
        if match is None:
            raise RangeCheckUnavailable("the answer is not SUFFIX:COUNT lines")
        counts[match["suffix"].upper()] = int(match["count"])
    return counts
