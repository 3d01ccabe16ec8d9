"""The OpenAPI schema tells the truth: schemathesis, every check, against the app in process.

``test_api`` is what ``schemathesis run --checks all`` does against ``/api/schema/`` (coverage and
fuzzing phases, positive and negative data), one test per operation, authenticated with a fresh
Bearer token per case (``logout/`` and friends revoke theirs). Two errors it cannot reach that way are
driven on purpose and validated against the schema too: 401 on every authenticated operation, 429 on
every throttled one.
"""

from __future__ import annotations

import json
import uuid

import pytest
import schemathesis
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.test import Client
from hypothesis import HealthCheck, settings
from rest_framework.settings import api_settings
from schemathesis.checks import negative_data_rejection, positive_data_acceptance
from schemathesis.core import NOT_SET

from accounts.models import RevokeReason, User
from accounts.services.sessions import sessions_revoke_for_user
from accounts.services.sign_in import sign_in
from core.http import RequestMeta
from tests.factories import make_org, make_user

SCHEMA_URL = "/api/schema/"

# Every check, both data modes; reproducible (derandomized, no example database) and ~20 s for the
# whole module. Raise max-examples (or set deterministic to false) locally to dig deeper.
CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {"mode": "all", "max-examples": 50, "deterministic": True, "database": "none"},
        "phases": {
            "examples": {"enabled": False},  # the schema has no examples
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},  # a separate API (schema.as_state_machine()), not used here
        },
        "checks": {"enabled": True},
    }
)


def _load_schema():
    """What ``/api/schema/`` serves (``test_the_schema_is_the_one_served``), built without a request: the
    view runs in a request transaction, and there is no database while pytest collects."""
    from django.core.wsgi import get_wsgi_application
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    served = json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    loaded = schemathesis.openapi.from_dict(served, config=CONFIG)
    loaded.app = get_wsgi_application()
    return loaded


schema = _load_schema()
SECURED = [  # operations that require credentials (an optional Bearer, as accept/'s, lists {} too)
    (operation.path, operation.method)
    for operation in (result.ok() for result in schema.get_all_operations())
    if "security" in operation.definition.raw and {} not in operation.definition.raw["security"]
]


# werkzeug's test client sends no REMOTE_ADDR; a WSGI server always does, and the throttles key on it.
CLIENT = {"environ_overrides": {"REMOTE_ADDR": "192.0.2.1"}}


@pytest.fixture
def identity(transactional_db):
    # refresh/ manages its own transactions and DRF rolls the request's back on a 4xx: real
    # transactions per request, as in production (see test_public_endpoints_never_500).
    user = make_user(email="schemathesis@example.com")
    make_org(name="Schemathesis", owner=user)
    return user


def bearer_for(user: User) -> dict[str, str]:
    """A fresh session's access token: each case may end its session (logout/, logout-all/...)."""
    result = sign_in(
        user=user, method="password", amr=["pwd"], meta=RequestMeta(ip=None, user_agent="schemathesis")
    )
    return {"Authorization": f"Bearer {result.pair.access}"}


@schema.parametrize()
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_api(case, identity):
    cache.clear()  # throttles would answer 429 after a few cases: 429 has its own test below
    headers = bearer_for(identity) if "security" in case.operation.definition.raw else {}
    if headers and case.headers:
        # One credential per request (API.md): the Bearer token, not also a generated X-API-Key (400).
        case.headers.pop("X-API-Key", None)
    response = case.call(headers=headers, **CLIENT)
    excluded = []
    if _refused_for_a_rule_outside_the_schema(case, response):
        excluded.append(positive_data_acceptance)
    if _accepted_only_once_trimmed(case, response) or response.status_code == 413:
        # 413: refused for its size (documented on every body), before any field is checked: a rejection
        excluded.append(negative_data_rejection)
    case.validate_response(
        response, headers=headers, excluded_checks=excluded, transport_kwargs={"headers": headers, **CLIENT}
    )


# Refusals of schema-valid data for reasons JSON Schema cannot express, per operation: the state of a
# token or a password (API.md's documented 400s), a cross-field rule, the deployment's allowed origins.
_STATE_CODES = {
    "token_invalid",
    "token_not_found",
    "invalid_password",
    "confirmation_mismatch",
    "invitation_invalid",
    "invitation_not_found",
    "invalid_code",  # a TOTP or recovery code that is not the account's
    "mfa_not_enabled",
    "mfa_not_set_up",
    "email_unverified",  # enrolling needs a verified address
    "passkey_invalid",  # no generated credential is an authenticator's attestation or assertion
}
# Public operations whose schema-valid input can only be refused as unauthenticated: a passkey assertion.
_UNAUTHENTICATED_BY_STATE = {"/api/auth/passkeys/login/": "passkey_invalid"}
_RULE_FIELDS = {
    "/api/auth/magic-link/verify/": {"non_field_errors"},  # token, or email and code
    "/api/auth/magic-link/request/": {"redirect_url"},  # under FRONTEND_URL / AUTH_REDIRECT_ALLOWED_ORIGINS
    "/api/auth/mfa/verify/": {"code"},  # code or recovery_code
    "/api/auth/mfa/totp/": {"password"},  # password, code or recovery_code: one
    "/api/auth/reauthenticate/": {"password"},
    "/api/auth/org/api-keys/": {"expires_at"},  # in the future
    "/api/auth/social/": {"redirect_uri"},  # one of OAUTH_REDIRECT_URIS
    "/api/auth/social/{provider}/": {"redirect_uri"},
}
_PASSWORD_FIELDS = {
    "/api/auth/register/": "password",
    "/api/auth/password/change/": "new_password",
    "/api/auth/password/reset/": "new_password",
}


def _refused_for_a_rule_outside_the_schema(case, response) -> bool:
    """Whether a 400 refused schema-valid data only for what the schema cannot say: Django's password
    validators (a common password, one too similar to the email or names), a token that is not live or a
    wrong current password, a cross-field rule, a redirect URL off the allowed origins. Anything else it
    refuses still fails ``positive_data_acceptance``."""
    path = case.operation.path
    if response.status_code == 401 and path in _UNAUTHENTICATED_BY_STATE:
        return response.json().get("code") == _UNAUTHENTICATED_BY_STATE[path]
    if response.status_code not in (400, 404):
        return False
    error = response.json()
    if isinstance(error.get("code"), str) and error["code"] in _STATE_CODES:
        return True
    if response.status_code != 400:
        return False
    if path in _RULE_FIELDS and set(error) <= _RULE_FIELDS[path]:
        return True
    field = _PASSWORD_FIELDS.get(path)
    body = case.body if isinstance(case.body, dict) else {}
    if field is None or set(error) != {field} or not isinstance(body.get(field), str):
        return False
    names = {name: body.get(name) for name in ("email", "first_name", "last_name")}
    user = User(**{name: value for name, value in names.items() if isinstance(value, str)})
    try:
        validate_password(body[field], user=user)
    except ValidationError:
        return True
    return False


def _accepted_only_once_trimmed(case, response) -> bool:
    """DRF's CharField (``trim_whitespace``) strips surrounding whitespace before it checks the length,
    so ``" " + "x" * 200`` is a valid 200-character name although the schema's ``maxLength`` (which
    JSON Schema applies to the raw string) says otherwise. That leniency is by design; a body accepted
    while schema-invalid for any other reason still fails ``negative_data_rejection``. Passwords are
    never trimmed, so they are left as sent."""
    if response.status_code >= 400 or not isinstance(case.body, dict):
        return False
    trimmed = {
        name: value.strip() if isinstance(value, str) and name != "password" else value
        for name, value in case.body.items()
    }
    if trimmed == case.body:
        return False
    return any(body.media_type == case.media_type and body.is_valid(trimmed) for body in case.operation.body)


@pytest.mark.parametrize(
    ("path", "method", "body"),
    [
        pytest.param("/api/auth/me/", "PATCH", {"last_name": 7}, id="integer-last-name"),
        pytest.param("/api/auth/orgs/", "POST", {"name": 7}, id="integer-org-name"),
        pytest.param("/api/auth/orgs/", "POST", {"name": "!!!"}, id="org-name-without-a-slug"),
        pytest.param(
            "/api/auth/register/",
            "POST",
            {"email": "grace@example.com", "password": "x7#Qa9z", "organization_name": "Navy"},
            id="password-of-7-characters",
        ),
        pytest.param(
            "/api/auth/register/",
            "POST",
            {"email": "grace@example.com", "password": "x7#Qa9z!" * 16 + "?", "organization_name": "Navy"},
            id="password-of-129-characters",
        ),
    ],
)
def test_what_the_schema_refuses_the_api_refuses(identity, path, method, body):
    """What a first schemathesis run found: each body was schema-valid, and refused (or, for the
    integers, taken as strings). The schema now says what the API enforces."""
    operation = schema[path][method]
    assert not any(definition.is_valid(body) for definition in operation.body)
    headers = bearer_for(identity) if "security" in operation.definition.raw else {}
    case = operation.Case(body=body, media_type="application/json")
    response = case.call(headers=headers, **CLIENT)
    assert response.status_code == 400, response.text
    case.validate_response(response, headers=headers, transport_kwargs={"headers": headers, **CLIENT})


def test_a_password_of_8_characters_is_valid_for_both(transactional_db):
    operation = schema["/api/auth/register/"]["POST"]
    body = {"email": "grace@example.com", "password": "x7#Qa9z!", "organization_name": "Navy"}
    assert any(definition.is_valid(body) for definition in operation.body)
    case = operation.Case(body=body, media_type="application/json")
    response = case.call(**CLIENT)
    assert response.status_code == 201, response.text
    case.validate_response(response, transport_kwargs=CLIENT)


_PATH_VALUES = {
    "profile_id": lambda: str(uuid.uuid4()),
    "invitation_id": lambda: str(uuid.uuid4()),
    "session_id": lambda: str(uuid.uuid4()),
    "identity_id": lambda: str(uuid.uuid4()),
    "key_id": lambda: str(uuid.uuid4()),
    "passkey_id": lambda: str(uuid.uuid4()),
    "provider": lambda: "google",
}


def _case_for(operation):
    names = [name for name in _PATH_VALUES if f"{{{name}}}" in operation.path]
    path_parameters = {name: _PATH_VALUES[name]() for name in names} or None
    body = {} if "requestBody" in operation.definition.raw else NOT_SET
    return operation.Case(path_parameters=path_parameters, body=body)


@pytest.mark.parametrize(("path", "method"), SECURED, ids=[f"{m.upper()} {p}" for p, m in SECURED])
def test_every_authenticated_operation_documents_its_401(identity, path, method):
    operation = schema[path][method]
    revoked = bearer_for(identity)
    sessions_revoke_for_user(user_id=identity.id, reason=RevokeReason.LOGOUT_ALL)
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, revoked):
        case = _case_for(operation)
        response = case.call(headers=headers)
        assert response.status_code == 401, (headers, response.text)
        case.validate_response(response, headers=headers)


THROTTLED = [
    (operation.path, operation.method)
    for operation in (result.ok() for result in schema.get_all_operations())
    if "429" in operation.definition.raw["responses"]
]


@pytest.mark.parametrize(("path", "method"), THROTTLED, ids=[f"{m.upper()} {p}" for p, m in THROTTLED])
def test_every_throttled_operation_documents_its_429(identity, settings, path, method):
    rates = {scope: "1/min" for scope in api_settings.DEFAULT_THROTTLE_RATES}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    operation = schema[path][method]
    headers = bearer_for(identity) if "security" in operation.definition.raw else {}
    case = _case_for(operation)
    case.call(headers=headers, **CLIENT)  # spends the one request the network's bucket allows
    response = case.call(headers=headers, **CLIENT)
    assert response.status_code == 429, response.text
    case.validate_response(response, headers=headers, transport_kwargs={"headers": headers, **CLIENT})


@pytest.mark.django_db
def test_the_schema_is_the_one_served():
    """The run above used what ``/api/schema/`` serves, not a copy: the contract under test is live."""
    assert schema.raw_schema == Client().get(SCHEMA_URL, {"format": "json"}).json()
