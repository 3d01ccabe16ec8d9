"""A refused ``X-API-Key`` leaves no tenant context behind in the transaction that refused it.

The lookup reads the key's row across orgs and enters the row's org in the same message
(``tenants.rls.context.cross_tenant_enter``) before the secret is compared: a known public id with a wrong
secret, a revoked or an expired key all get that far. Whatever the 401 then rolls back, nothing that runs
later in the same transaction may find ``app.current_org`` still set (defence in depth, issue 25 item 11).
The authenticator is called directly inside ``transaction.atomic``, as the request transaction would.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from apikeys.authentication import ApiKeyAuthentication, InvalidApiKey
from apikeys.models import ApiKey
from apikeys.services import api_key_create, api_key_revoke
from tenants.rls.context import tenant_context


def authenticate(raw: str):
    return ApiKeyAuthentication().authenticate(Request(APIRequestFactory().get("/", HTTP_X_API_KEY=raw)))


def org_setting() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('app.current_org', true)")
        return cursor.fetchone()[0]


@pytest.fixture
def acme_key(user, org) -> tuple[ApiKey, str]:
    with tenant_context(org.id):
        return api_key_create(org_id=org.id, name="CI", scopes=None, expires_at=None, created_by_id=user.id)


def wrong_secret(raw: str) -> str:
    prefix, public_id, secret = raw.split("_", 2)
    return f"{prefix}_{public_id}_{'A' if secret[0] != 'A' else 'B'}{secret[1:]}"


def refused_then_org_setting(raw: str) -> str | None:
    with transaction.atomic():
        with pytest.raises(InvalidApiKey):
            authenticate(raw)
        return org_setting()


@pytest.mark.django_db
def test_a_working_key_enters_its_org(org, acme_key):
    with transaction.atomic():
        _, principal = authenticate(acme_key[1])
        assert principal.org.id == org.id
        assert org_setting() == str(org.id)  # what the refusals below must not leave behind


@pytest.mark.django_db
def test_a_known_public_id_with_a_wrong_secret_leaves_no_org_set(acme_key):
    assert refused_then_org_setting(wrong_secret(acme_key[1])) in ("", None)


@pytest.mark.django_db
def test_a_revoked_key_leaves_no_org_set(org, acme_key):
    with tenant_context(org.id):
        api_key_revoke(org_id=org.id, key_id=acme_key[0].id)

    assert refused_then_org_setting(acme_key[1]) in ("", None)


@pytest.mark.django_db
def test_an_expired_key_leaves_no_org_set(org, acme_key):
    with tenant_context(org.id):
        ApiKey.objects.filter(pk=acme_key[0].pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert refused_then_org_setting(acme_key[1]) in ("", None)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "presented",
    [wrong_secret, lambda raw: "authsvc_Zz9Zz9Zz_" + raw.split("_", 2)[2], lambda raw: "not-a-key"],
    ids=["wrong-secret", "unknown-public-id", "malformed"],
)
def test_every_refusal_clears_an_org_the_transaction_had_before(other_org, acme_key, presented):
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('app.current_org', %s, true)", [str(other_org.id)])
        with pytest.raises(InvalidApiKey):
            authenticate(presented(acme_key[1]))
        assert org_setting() in ("", None)


@pytest.mark.django_db(transaction=True)
def test_a_malformed_key_outside_any_transaction_is_refused_without_an_error(db):
    assert not connection.in_atomic_block

    with pytest.raises(InvalidApiKey):
        authenticate("not-a-key")

    assert org_setting() in ("", None)
