"""``/api/schema/`` is built once per process and served from memory (the same bytes drf-spectacular's own
view serves, per format), rebuilt when a setting changes, and throttled per client network."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.test import RequestFactory
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.views import SpectacularAPIView

from core.openapi_view import schema_cache_clear

SCHEMA = "/api/schema/"
# What drf-spectacular negotiates: YAML by default, JSON by ?format= or Accept, an indent, a language.
VARIANTS = {
    "yaml-default": ({}, {}),
    "yaml-format": ({"format": "yaml"}, {}),
    "json-format": ({"format": "json"}, {}),
    "json-accept": ({}, {"HTTP_ACCEPT": "application/vnd.oai.openapi+json"}),
    "plain-json-accept": ({}, {"HTTP_ACCEPT": "application/json"}),
    "json-indented": ({}, {"HTTP_ACCEPT": "application/json; indent=2"}),
    "json-german": ({"format": "json", "lang": "de"}, {}),
}


@pytest.fixture(autouse=True)
def _fresh_schema():
    schema_cache_clear()
    yield
    schema_cache_clear()


@pytest.fixture
def generated(monkeypatch) -> list[int]:
    """Counts the schema builds (drf-spectacular's generator)."""
    calls: list[int] = []
    get_schema = SchemaGenerator.get_schema

    def counted(self, *args, **kwargs):
        calls.append(1)
        return get_schema(self, *args, **kwargs)

    monkeypatch.setattr(SchemaGenerator, "get_schema", counted)
    return calls


def stock(query: dict, headers: dict):
    """What drf-spectacular's own view answers to the same request (the bytes served before the cache)."""
    response = SpectacularAPIView.as_view()(RequestFactory().get(SCHEMA, query, **headers))
    return response.render()


@pytest.mark.django_db
def test_two_requests_build_the_schema_once(client, generated):
    first = client.get(SCHEMA)
    second = client.get(SCHEMA)

    assert (first.status_code, second.status_code) == (HTTPStatus.OK, HTTPStatus.OK)
    assert len(generated) == 1
    assert first.content == second.content


@pytest.mark.django_db
@pytest.mark.parametrize("variant", VARIANTS)
def test_the_cached_schema_is_the_bytes_drf_spectacular_serves(client, variant):
    query, headers = VARIANTS[variant]
    expected = stock(query, headers)

    built = client.get(SCHEMA, query, **headers)
    cached = client.get(SCHEMA, query, **headers)

    for response in (built, cached):
        assert response.status_code == HTTPStatus.OK
        assert response.content == expected.content
        for header in ("Content-Type", "Content-Disposition", "Allow"):
            assert response[header] == expected[header], header
    assert dict(cached.headers) == dict(built.headers)


@pytest.mark.django_db
def test_each_format_is_built_once(client, generated):
    for _ in range(2):
        yaml, json = client.get(SCHEMA), client.get(SCHEMA, {"format": "json"})

    assert len(generated) == 2
    assert yaml.content.startswith(b"openapi: ") and json.json()["openapi"].startswith("3.")


@pytest.mark.django_db
def test_a_changed_setting_rebuilds_the_schema(client, settings, generated):
    client.get(SCHEMA)

    settings.AUTH_ALLOW_SIGNUP = not settings.AUTH_ALLOW_SIGNUP  # any setting: a test may change what it shows
    client.get(SCHEMA)

    assert len(generated) == 2


@pytest.mark.django_db
def test_clearing_the_cache_rebuilds_the_schema(client, generated):
    client.get(SCHEMA)

    schema_cache_clear()
    client.get(SCHEMA)

    assert len(generated) == 2


@pytest.mark.django_db
def test_the_schema_is_throttled_per_network_with_429_and_retry_after(client, settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "schema": "2/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}

    statuses = [client.get(SCHEMA).status_code for _ in range(2)]
    refused = client.get(SCHEMA, {"format": "json"})

    assert statuses == [HTTPStatus.OK, HTTPStatus.OK]
    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert int(refused["Retry-After"]) >= 1
    assert refused["Content-Type"] == "application/json"
    body = refused.json()
    assert set(body) == {"detail", "code"} and body["code"] == "throttled"
    other_network = client.get(SCHEMA, REMOTE_ADDR="198.51.100.7")
    assert other_network.status_code == HTTPStatus.OK



@pytest.mark.django_db
def test_the_schema_does_not_describe_its_own_endpoint(client):
    paths = client.get(SCHEMA, {"format": "json"}).json()["paths"]

    assert not [path for path in paths if path.startswith(("/api/schema", "/api/docs"))]


@pytest.mark.django_db
def test_variants_a_client_makes_up_build_nothing_new(client, monkeypatch):
    """Other media-type parameters, unknown languages and versions: no new build each (the review of the
    first cache: 15 made-up variants, 15 builds of a fifth of a second each)."""
    import drf_spectacular.generators

    builds = []
    original = drf_spectacular.generators.SchemaGenerator.get_schema

    def counting(self, *args, **kwargs):
        builds.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(drf_spectacular.generators.SchemaGenerator, "get_schema", counting)
    first = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    same = [client.get("/api/schema/", HTTP_ACCEPT=f"application/json; x={i}") for i in range(5)]
    refused = [client.get("/api/schema/", {"lang": f"x{i}"}) for i in range(3)]
    refused += [client.get("/api/schema/", {"version": f"v{i}"}) for i in range(3)]

    assert len(builds) == 1
    assert {response.content for response in same} == {first.content}
    assert {response.status_code for response in refused} == {400}
    assert all("\\x00" not in response.content.decode() for response in refused)
