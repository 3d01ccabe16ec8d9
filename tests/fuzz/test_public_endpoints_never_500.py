"""Property: no JSON body, however odd, makes a public endpoint answer 5xx (or write anything)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Session, User

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
field_values = st.one_of(json_values, st.text(max_size=300), st.just("\x00"), st.just("ada@example.com"))


def _bodies(fields: list[str]):
    return st.one_of(json_values, st.fixed_dictionaries({}, optional={name: field_values for name in fields}))


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/api/auth/login/", ["email", "password", "org"]),
        ("/api/auth/register/", ["email", "password", "organization_name", "first_name", "last_name"]),
    ],
)
def test_hostile_json_never_causes_a_server_error(api_client, user, org, path, fields):
    _fuzz(api_client, path, fields)


# refresh/ runs outside the request transaction, and DRF marks the test's own transaction for rollback
# on its first 4xx: it needs a real transaction per request.
@pytest.mark.django_db(transaction=True)
def test_hostile_json_never_causes_a_server_error_on_refresh(api_client, user, org):
    _fuzz(api_client, "/api/auth/refresh/", ["refresh"])


def _fuzz(api_client, path: str, fields: list[str]) -> None:
    sessions_before = Session.objects.count()
    users_before = User.objects.count()

    @FUZZ
    @given(body=_bodies(fields))
    def check(body):
        from django.core.cache import cache

        cache.clear()  # keep the throttle out of the way: it answers 429, which would hide the parsing
        response = api_client.generic("POST", path, json.dumps(body), content_type="application/json")
        assert response.status_code < 500, (body, response.content[:300])

    check()
    # Nothing here can be a valid sign-in (no example carries the right password), so nothing is written.
    assert Session.objects.count() == sessions_before
    assert User.objects.count() >= users_before
