"""``manage.py devlogin <email> --org <name>``: a ready-to-use token pair for local development.

Creates the user (passwordless), the org and the owner membership when missing, opens a session and
prints the token-pair body as one JSON object on stdout. Refuses (stderr, exit 1) with DEBUG off.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from accounts.api.outputs import sign_in_body
from accounts.services.development import dev_sign_in
from core.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Print a token pair for <email> in --org (DEBUG only), creating user, org and membership if missing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("email")
        parser.add_argument("--org", required=True, help="Organization name (created if missing).")

    def handle(self, *args, email: str, org: str, **options) -> None:
        try:
            result = dev_sign_in(email=email, org_name=org)
        except ApplicationError as exc:
            raise CommandError(str(exc.detail)) from exc
        self.stdout.write(json.dumps(sign_in_body(result)))
