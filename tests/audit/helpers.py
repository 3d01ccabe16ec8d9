"""Reading the audit log in tests: through the cross-tenant path (RLS hides rows from any other)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from django.db import connection

from tenants.models import AuditEvent
from tenants.rls.context import cross_tenant


def events(**filters) -> list[AuditEvent]:
    """Every stored event matching ``filters``, oldest first."""
    with cross_tenant():
        return list(AuditEvent.objects.filter(**filters).order_by("occurred_at"))


def only(event_type: str, **filters) -> AuditEvent:
    """The one event of ``event_type`` matching ``filters`` (fails on none or several)."""
    found = events(type=event_type, **filters)
    assert len(found) == 1, [(e.type, e.details) for e in found]
    return found[0]


def committed_events(**filters) -> list[tuple[str, dict]]:
    """``(type, details)`` of the matching events as another connection sees them: only committed rows."""

    def read() -> list[tuple[str, dict]]:
        try:
            with cross_tenant():
                return list(
                    AuditEvent.objects.filter(**filters)
                    .order_by("occurred_at")
                    .values_list("type", "details")
                )
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(read).result()


def token_secrets(*bodies: dict) -> list[str]:
    """Every token string in sign-in bodies, and each token's signature on its own."""
    secrets = []
    for body in bodies:
        for key in ("access", "refresh", "access_token", "refresh_token"):
            if body.get(key):
                secrets += [body[key], body[key].rsplit(".", 1)[1]]
    return secrets


def assert_no_secret_stored(*secrets: str) -> None:
    """No secret appears anywhere in any stored event (details, user agent, subject, everything)."""
    assert secrets
    with cross_tenant():
        stored = json.dumps(list(AuditEvent.objects.values()), default=str)
    assert stored.count('"type"') > 0
    for secret in secrets:
        assert secret not in stored
