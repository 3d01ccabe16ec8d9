"""``manage.py devlogin <email> --org <name>``: a ready-to-use token pair for local development.

Creates the user (passwordless), the org and the owner membership when missing, opens a session and
prints the token-pair body as one JSON object on stdout. Refuses (stderr, exit 1) with DEBUG off.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction

from accounts import services
from accounts.models import User, normalize_email
from accounts.serializers import sign_in_body
from core.http import RequestMeta
from tenants.db import tenant_context
from tenants.models import Organization, Profile, Role
from tenants.services import organization_create, organization_slug


class Command(BaseCommand):
    help = (
        "Print a token pair for <email> in --org (DEBUG only), creating user, org and membership if missing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("email")
        parser.add_argument("--org", required=True, help="Organization name (created if missing).")

    def handle(self, *args, email: str, org: str, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("devlogin only runs with DEBUG on (DJANGO_DEBUG=1); no token was issued.")
        email = normalize_email(email)
        try:
            validate_email(email)
        except ValidationError as exc:
            raise CommandError(f"Not a valid email address: {email!r}") from exc
        with transaction.atomic():
            user, _ = User.objects.get_or_create(email=email, defaults={"password": "!devlogin"})
            if not user.is_active:
                raise CommandError(f"{email} is deactivated; reactivate the user in the admin first.")
            organization = Organization.objects.filter(slug=organization_slug(org)).first()
            if organization is None:
                organization, _ = organization_create(name=org, owner=user)
            with tenant_context(organization.id):
                profile, created = Profile.objects.get_or_create(
                    org=organization, user=user, defaults={"role": Role.OWNER, "is_active": True}
                )
                if not created and not profile.is_active:  # a development shortcut: come back in
                    profile.is_active = True
                    profile.save(update_fields=["is_active"])
            result = services.sign_in(
                user=user,
                meta=RequestMeta(ip=None, user_agent="manage.py devlogin"),
                org_reference=str(organization.id),
            )
        self.stdout.write(json.dumps(sign_in_body(result)))
