"""Google's key set is fetched once and kept for its ``Cache-Control: max-age`` (CacheControl on the
transport), not per sign-in; unreachable, it is 503 ``provider_unavailable`` rather than a 500."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from social.providers import certs_transport
from tests.fake_google import CERT_PEM, STRANGER_KEY_PEM
from tests.social.helpers import closed_port_url, counts, failures, google_sign_in


@pytest.mark.django_db
def test_the_key_set_is_fetched_once_for_several_sign_ins(api_client, google):
    statuses = [google_sign_in(api_client, google.id_token()).status_code for _ in range(3)]

    assert statuses == [HTTPStatus.CREATED, HTTPStatus.OK, HTTPStatus.OK]
    assert google.certs_fetches == 1


@pytest.mark.django_db
def test_refused_tokens_use_the_cached_key_set_too(api_client, google):
    assert google_sign_in(api_client, google.id_token()).status_code == HTTPStatus.CREATED
    assert google_sign_in(api_client, google.id_token(key_pem=STRANGER_KEY_PEM)).status_code == 401
    assert google_sign_in(api_client, google.id_token(kid="kid-2")).status_code == 401

    assert google.certs_fetches == 1


@pytest.mark.django_db
def test_max_age_zero_fetches_the_key_set_every_time(api_client, google):
    """The same transport fetches per request when Google says so: the cache follows Cache-Control."""
    google.max_age = 0

    for _ in range(3):
        assert google_sign_in(api_client, google.id_token()).status_code in (
            HTTPStatus.CREATED,
            HTTPStatus.OK,
        )

    assert google.certs_fetches == 3


@pytest.mark.django_db
def test_a_rotated_key_is_seen_once_the_cache_is_forgotten(api_client, google):
    assert google_sign_in(api_client, google.id_token()).status_code == HTTPStatus.CREATED
    google.certs = {"kid-2": CERT_PEM}  # Google rotated: the same key under a new id

    cached = google_sign_in(api_client, google.id_token(kid="kid-2"))
    certs_transport.cache_clear()
    fresh = google_sign_in(api_client, google.id_token(kid="kid-2"))

    assert cached.status_code == HTTPStatus.UNAUTHORIZED  # still the cached set (max-age not over)
    assert fresh.status_code == HTTPStatus.OK
    assert google.certs_fetches == 2


@pytest.mark.django_db
def test_an_unreachable_key_set_is_503_provider_unavailable(api_client, google, settings):
    settings.GOOGLE_CERTS_URL = closed_port_url("/certs")

    response = google_sign_in(api_client, google.id_token())

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json() == {
        "detail": "The identity provider could not be reached. Try again shortly.",
        "code": "provider_unavailable",
    }
    assert counts() == (0, 0, 0)
    assert failures() == [{"method": "google", "reason": "provider_unavailable"}]


@pytest.mark.django_db
def test_a_key_set_answering_an_error_is_503(api_client, google, settings):
    settings.GOOGLE_CERTS_URL = f"{google.base_url}/no-such-document"

    response = google_sign_in(api_client, google.id_token())

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["code"] == "provider_unavailable"
    assert counts() == (0, 0, 0)
