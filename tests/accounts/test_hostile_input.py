"""Hostile bodies on the public sign-in endpoints: always a 4xx with a body, never a 500."""

from __future__ import annotations

import json
from http import HTTPStatus

import pytest
from django.contrib.auth import hashers

from accounts.models import User
from tests.api import AUTH
from tests.factories import DEFAULT_PASSWORD

ENDPOINTS = [
    pytest.param(f"{AUTH}/register/", id="register"),
    pytest.param(f"{AUTH}/login/", id="login"),
]
PARSE_ERROR = {"detail": "JSON parse error: the body is not valid JSON.", "code": "parse_error"}
NULL_CHARACTERS = "Null characters are not allowed."


def valid_body(**overrides) -> dict:
    return {
        "email": "grace@example.com",
        "password": DEFAULT_PASSWORD,
        "organization_name": "Hopper Labs",
        **overrides,
    }


def post_raw(client, url: str, raw: bytes, content_type: str = "application/json"):
    return client.generic("POST", url, data=raw, content_type=content_type)


@pytest.fixture
def hashing_calls(monkeypatch) -> list[str]:
    """Records every password hasher lookup (each hash or verification makes one)."""
    calls: list[str] = []
    real_get_hasher = hashers.get_hasher

    def recording_get_hasher(algorithm="default"):
        calls.append(algorithm)
        return real_get_hasher(algorithm)

    monkeypatch.setattr(hashers, "get_hasher", recording_get_hasher)
    return calls


@pytest.mark.django_db
@pytest.mark.parametrize("url", ENDPOINTS)
@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'{"email": "grace@example.com", "password": ', id="truncated"),
        pytest.param(b"{'email': 'grace@example.com'}", id="single-quotes"),
        pytest.param(b'{"email": "grace@example.com",}', id="trailing-comma"),
        pytest.param(b'{"email": NaN}', id="nan"),
        pytest.param(b'{"password": Infinity}', id="infinity"),
        pytest.param(b"\xff\xfe{\x00}\x00", id="not-utf8"),
        pytest.param(b'{"email": "a\x00@example.com"}', id="raw-null-byte-in-string"),
        pytest.param(b"[" * 60_000, id="deeply-nested-lists"),
        pytest.param(b'{"a":' * 12_000, id="deeply-nested-objects"),
    ],
)
def test_malformed_json_is_a_parse_error(api_client, url, raw):
    assert len(raw) <= 64 * 1024  # under the size cap: this is about parsing, not size

    response = post_raw(api_client, url, raw)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == PARSE_ERROR


@pytest.mark.django_db
@pytest.mark.parametrize("url", ENDPOINTS)
@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"[" * 100_000, id="deeply-nested"),
        pytest.param(b'{"email": "' + b"x" * 100_000 + b'"}', id="long-string"),
    ],
)
def test_a_body_over_the_size_cap_is_a_client_error(api_client, url, raw):
    response = post_raw(api_client, url, raw)

    assert response.status_code in {HTTPStatus.BAD_REQUEST, HTTPStatus.REQUEST_ENTITY_TOO_LARGE}
    assert not User.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("url", ENDPOINTS)
@pytest.mark.parametrize(
    ("raw", "errors"),
    [
        pytest.param(
            b"[]", {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}, id="list"
        ),
        pytest.param(
            json.dumps([valid_body()]).encode(),
            {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]},
            id="list-of-a-valid-body",
        ),
        pytest.param(
            b'"grace@example.com"',
            {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]},
            id="string",
        ),
        pytest.param(
            b"42", {"non_field_errors": ["Invalid data. Expected a dictionary, but got int."]}, id="number"
        ),
        pytest.param(b"null", {"non_field_errors": ["No data provided"]}, id="null"),
    ],
)
def test_json_that_is_not_an_object_is_refused(api_client, url, raw, errors):
    response = post_raw(api_client, url, raw)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == errors


@pytest.mark.django_db
@pytest.mark.parametrize("url", ENDPOINTS)
def test_an_empty_body_is_a_validation_error(api_client, url):
    response = post_raw(api_client, url, b"")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert {"email", "password"} <= set(response.json())


@pytest.mark.django_db
@pytest.mark.parametrize("url", ENDPOINTS)
def test_a_body_over_the_size_cap_is_too_large(api_client, settings, url):
    padding = "x" * settings.AUTH_MAX_REQUEST_BYTES
    raw = json.dumps(valid_body(first_name=padding)).encode()
    assert len(raw) > settings.AUTH_MAX_REQUEST_BYTES

    response = post_raw(api_client, url, raw)

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response.json() == {"detail": "Request body too large.", "code": "request_too_large"}
    assert not User.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("url", ENDPOINTS)
def test_a_body_exactly_at_the_size_cap_is_parsed(api_client, settings, url):
    raw = json.dumps(valid_body(email="not-an-email")).encode()
    raw = raw[:-1] + b" " * (settings.AUTH_MAX_REQUEST_BYTES - len(raw)) + b"}"
    assert len(raw) == settings.AUTH_MAX_REQUEST_BYTES

    response = post_raw(api_client, url, raw)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"email": ["Enter a valid email address."]}


@pytest.mark.django_db
@pytest.mark.parametrize("url", ENDPOINTS)
@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        pytest.param(
            {"email": "grace\x00@example.com"},
            {"email": [NULL_CHARACTERS, "Enter a valid email address."]},
            id="null-byte-in-email",
        ),
        pytest.param(
            {"password": "correct horse\x00battery staple"},
            {"password": [NULL_CHARACTERS]},
            id="null-byte-in-password",
        ),
        pytest.param(
            {"password": "correct horse \ud800 battery"},
            {"password": ["Surrogate characters are not allowed: U+D800."]},
            id="lone-surrogate-in-password",
        ),
    ],
)
def test_null_bytes_and_surrogates_are_refused(api_client, url, overrides, errors):
    response = post_raw(api_client, url, json.dumps(valid_body(**overrides)).encode())

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == errors
    assert not User.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("url", ENDPOINTS)
@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/xml", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded"],
)
def test_a_body_that_is_not_json_is_an_unsupported_media_type(api_client, url, content_type):
    response = post_raw(api_client, url, json.dumps(valid_body()).encode(), content_type=content_type)

    assert response.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    assert response.json() == {
        "detail": f'Unsupported media type "{content_type}" in request.',
        "code": "unsupported_media_type",
    }
    assert not User.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("url", ENDPOINTS)
def test_a_10000_char_password_is_refused_without_hashing(api_client, url, user, hashing_calls):
    response = post_raw(api_client, url, json.dumps(valid_body(password="p" * 10_000)).encode())

    assert response.status_code == HTTPStatus.BAD_REQUEST
    limit = (
        "This password is too long. It must contain at most 128 characters."
        if "register" in url
        else ("Ensure this field has no more than 1024 characters.")
    )
    assert response.json() == {"password": [limit]}
    assert hashing_calls == []


@pytest.mark.django_db
def test_a_login_with_a_normal_password_is_hashed(api_client, user, hashing_calls):
    # The control for the test above: the recorder does see a password check.
    response = post_raw(
        api_client, f"{AUTH}/login/", json.dumps({"email": "ada@example.com", "password": "wrong"}).encode()
    )

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert hashing_calls != []
