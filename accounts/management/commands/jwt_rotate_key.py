"""``manage.py jwt_rotate_key``: a new RS256/ES256 signing key, and the settings that deploy it in two steps.

1. **Publish**: the new public key joins ``JWT_PREVIOUS_PUBLIC_KEYS`` (the keys that verify besides the
   signing one), so every process and every verifier's cached key set knows it before any token names it.
2. **Sign**: once step 1 runs everywhere and verifiers' caches have turned over (``JWKS_MAX_AGE``), the
   new private key signs, and the old one stays listed until the tokens it signed have expired.

A one-step switch would break during a rolling deploy: processes still on the old settings would refuse
tokens from those already on the new key. The private key is written to a file only its owner may read.
README "Signing keys and JWKS".
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.api.jwks import JWKS_MAX_AGE
from accounts.signing_keys import (
    ASYMMETRIC,
    key_id,
    private_key_generate,
    private_pem,
    public_pem,
)
from tenants.audit import AuditEventType, audit_record


def _write(path: Path, text: str, mode: int) -> None:
    # O_EXCL: never overwrite a key; the mode is set at creation, so the private key is never readable by others.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
    except OSError:
        path.unlink()  # no half-written key left behind (disk full)
        raise


def _env_value(pem: str) -> str:
    return pem.strip().replace("\n", "\\n")


class Command(BaseCommand):
    help = "Generate a new JWT signing key (RS256 or ES256) and print the settings that deploy it."

    def add_arguments(self, parser):
        current = settings.JWT_KEYRING.algorithm
        parser.add_argument(
            "--algorithm",
            choices=ASYMMETRIC,
            default=current if current in ASYMMETRIC else "RS256",
            help="Algorithm of the new key (default: the current one, or RS256 when moving off HS256).",
        )
        parser.add_argument(
            "--out-dir",
            default=str(settings.BASE_DIR / "var" / "keys"),
            help="Folder for the new private key and the public key files (default: var/keys).",
        )
        parser.add_argument(
            "--inline",
            action="store_true",
            help="Print the keys themselves as one-line values (for a secret manager) instead of writing files.",
        )

    def handle(self, *args, algorithm: str, out_dir: str, inline: bool, **options):
        ring = settings.JWT_KEYRING
        key = private_key_generate(algorithm)
        kid = key_id(key.public_key())
        verifying = [ring.current, *ring.previous] if ring.current else []
        files = {  # name: (text, mode)
            "private": (private_pem(key), 0o600),
            # Step 2: everything that verified before, now that the new key signs.
            "previous": ("".join(public_pem(k.key) for k in verifying), 0o644),
        }
        if verifying:  # step 1 (none off HS256): the keys verifying today, plus the new one
            files["publish"] = (files["previous"][0] + public_pem(key.public_key()), 0o644)

        with transaction.atomic():  # recorded only if the files are written
            audit_record(
                AuditEventType.SIGNING_KEY_ROTATED,
                details={"algorithm": algorithm, "kid": kid, "previous_kids": [k.kid for k in verifying]},
            )
            values = (
                {name: _env_value(text) for name, (text, _) in files.items()}
                if inline
                else self._write(Path(out_dir), kid, files)
            )

        drop_after = datetime.now(UTC) + timedelta(days=settings.JWT_REFRESH_DAYS)
        write = self.stdout.write
        if ring.current:
            write(
                "# Step 1: publish the new key (it verifies; nothing signs with it yet). Deploy everywhere."
            )
            write(f"JWT_PREVIOUS_PUBLIC_KEYS={values['publish']}")
            write(
                f"# Step 2: {JWKS_MAX_AGE // 60} minutes after step 1 is everywhere, sign with the new key."
            )
        else:
            write("# Moving off HS256: once deployed, tokens signed with JWT_SIGNING_KEY stop verifying, so")
            write("# every session signs in again.")
        write(f"JWT_ALGORITHM={algorithm}")
        write(f"JWT_PRIVATE_KEY={values['private']}")
        write(f"JWT_PREVIOUS_PUBLIC_KEYS={values['previous']}")
        if verifying:
            write(
                f"# Then remove a key from JWT_PREVIOUS_PUBLIC_KEYS once {settings.JWT_REFRESH_DAYS} days have passed "
                f"since it last signed (for the current one: after {drop_after:%Y-%m-%d %H:%M} UTC)."
            )
        self.stderr.write(f"New key {kid} ({algorithm}).")

    def _write(self, folder: Path, kid: str, files: dict[str, tuple[str, int]]) -> dict[str, str]:
        folder = folder.expanduser().resolve()
        paths = {name: folder / f"jwt-{kid[:16]}-{name}.pem" for name, (text, _) in files.items() if text}
        written: list[Path] = []
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for name, path in paths.items():
                _write(path, *files[name])
                written.append(path)
        except OSError as exc:
            for path in written:
                path.unlink()
            raise CommandError(f"can't write the key files in {folder}: {exc}") from exc
        return {name: str(paths[name]) if name in paths else "" for name in files}
