"""``manage.py invitations_purge``: invitations that ended (accepted, revoked, expired) go after ``--days``,
in every org; pending ones never."""

from __future__ import annotations

import secrets
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from invitations.models import Invitation
from tenants.rls.context import cross_tenant
from tests.factories import make_org, make_user

pytestmark = pytest.mark.django_db


def invitation(org, name: str, **ends) -> str:
    now = timezone.now()
    fields = {"expires_at": now + timedelta(days=7), **ends}
    with transaction.atomic(), cross_tenant():
        return Invitation.objects.create(
            org=org, email=f"{name}@example.com", digest=secrets.token_hex(32), **fields
        ).email


def remaining() -> set[str]:
    with transaction.atomic(), cross_tenant():
        return set(Invitation.objects.values_list("email", flat=True))


def purge(*args: str) -> str:
    out = StringIO()
    call_command("invitations_purge", *args, stdout=out)
    return out.getvalue()


def test_ended_invitations_go_after_the_retention_in_every_org_and_pending_ones_stay(db):
    old, recent = timezone.now() - timedelta(days=40), timezone.now() - timedelta(days=3)
    acme = make_org(name="Acme", owner=make_user(email="ada@example.com"))
    globex = make_org(name="Globex", owner=make_user(email="bob@example.com"))
    invitation(acme, "pending")
    invitation(acme, "pending-long", created_at=old)  # long pending, not yet expired
    gone = {
        invitation(acme, "accepted-long", accepted_at=old),
        invitation(acme, "revoked-long", revoked_at=old),
        invitation(globex, "expired-long", expires_at=old),
    }
    invitation(globex, "accepted-recent", accepted_at=recent)
    invitation(globex, "expired-recent", expires_at=recent)

    assert purge("--batch-size", "2").startswith("Deleted 3 invitation(s) that ended before ")

    assert remaining() == {
        f"{name}@example.com" for name in ("pending", "pending-long", "accepted-recent", "expired-recent")
    }
    assert not gone & remaining()
    assert purge("--days", "0").startswith("Deleted 2 invitation(s)")  # every ended one
    assert remaining() == {"pending@example.com", "pending-long@example.com"}


@pytest.mark.parametrize("args", [["--days", "-1"], ["--batch-size", "0"]])
def test_bad_arguments_are_refused(db, args):
    with pytest.raises(CommandError):
        purge(*args)
