"""The start-up checks of the passkey settings (passkeys.checks) and how origins are written
(core.http.origin_of)."""

from __future__ import annotations

import pytest

from core.http import origin_of
from passkeys.checks import check_webauthn_relying_party
from tests.processes import manage


def ids(settings, rp_id: str, *origins: str) -> list[str]:
    settings.WEBAUTHN_RP_ID, settings.WEBAUTHN_ORIGINS = rp_id, list(origins)
    return [found.id for found in check_webauthn_relying_party()]


def test_the_defaults_pass(settings):
    assert (settings.WEBAUTHN_RP_ID, settings.WEBAUTHN_ORIGINS) == ("localhost", ["http://localhost:3000"])
    assert check_webauthn_relying_party() == []


def test_the_rp_id_may_be_the_host_or_a_parent_domain(settings):
    assert ids(settings, "example.com", "https://example.com", "https://app.example.com") == []


def test_an_rp_id_that_browsers_would_refuse_is_an_error(settings):
    assert ids(settings, "example.com", "https://app.example.com", "https://notexample.com") == [
        "passkeys.E002"
    ]


def test_plain_http_beyond_localhost_is_a_warning(settings):
    assert ids(settings, "app.example.com", "http://app.example.com") == ["passkeys.W001"]
    assert ids(settings, "dev.localhost", "http://dev.localhost:8000") == []


def test_something_that_is_not_an_origin_is_an_error(settings):
    assert ids(settings, "localhost", "localhost:3000", "https://localhost/path") == ["passkeys.E001"] * 2


def test_the_process_refuses_to_start_with_it():
    result = manage("check", WEBAUTHN_RP_ID="example.com", FRONTEND_URL="https://app.other.com")

    assert result.returncode != 0
    assert "passkeys.E002" in result.stderr


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("HTTPS://App.Example.com:443/some/path?x=1", "https://app.example.com"),
        ("http://localhost:8000/example", "http://localhost:8000"),
        ("http://localhost:80", "http://localhost"),
        ("https://app.example.com:8443", "https://app.example.com:8443"),
        ("http://[::1]:8000/", "http://[::1]:8000"),
        ("not a url", "not a url"),
        ("http://host:99999", "http://host:99999"),
    ],
)
def test_origins_are_written_as_browsers_write_them(url, origin):
    assert origin_of(url) == origin
