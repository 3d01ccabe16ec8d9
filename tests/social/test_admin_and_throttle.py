"""The admin's list of linked identities (removable there), and the ``social`` throttle."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from rest_framework.settings import api_settings

from accounts.models import User
from social.models import SocialIdentity
from tests.social.helpers import REDIRECT_URI, SOCIAL, code_sign_in, google_sign_in

CHANGELIST = "/admin/social/socialidentity/"


@pytest.fixture
def linked(api_client, google) -> SocialIdentity:
    assert google_sign_in(api_client, google.id_token()).status_code == HTTPStatus.CREATED
    return SocialIdentity.objects.get()


@pytest.mark.django_db
def test_the_admin_lists_linked_identities(admin_client, linked):
    response = admin_client.get(CHANGELIST)

    assert response.status_code == HTTPStatus.OK
    assert response.context["cl"].result_count == 1
    assert "ada@gmail.com" in response.content.decode()
    assert f"{CHANGELIST}add/" not in response.content.decode()


@pytest.mark.django_db
def test_the_admin_searches_by_the_users_address(admin_client, linked):
    assert admin_client.get(CHANGELIST, {"q": "ada@gmail"}).context["cl"].result_count == 1
    assert admin_client.get(CHANGELIST, {"q": "nobody"}).context["cl"].result_count == 0


@pytest.mark.django_db
def test_the_admin_cannot_add_an_identity(admin_client, linked):
    assert admin_client.get(f"{CHANGELIST}add/").status_code == HTTPStatus.FORBIDDEN


@pytest.mark.django_db
def test_the_admin_removes_an_identity(admin_client, linked):
    url = f"{CHANGELIST}{linked.pk}/delete/"
    assert admin_client.get(url).status_code == HTTPStatus.OK

    response = admin_client.post(url, {"post": "yes"})

    assert response.status_code == HTTPStatus.FOUND
    assert not SocialIdentity.objects.exists()
    assert User.objects.filter(email="ada@gmail.com").exists()  # the user stays


@pytest.mark.django_db
def test_the_admin_is_closed_to_a_regular_user(client, linked):
    client.force_login(User.objects.get(email="ada@gmail.com"))

    response = client.get(CHANGELIST)

    assert response.status_code == HTTPStatus.FOUND
    assert "/login/" in response["Location"]


# --- throttle -----------------------------------------------------------------------------------------


@pytest.fixture
def social_rate(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**api_settings.DEFAULT_THROTTLE_RATES, "social": "3/min"},
    }


def assert_throttled(response) -> None:
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS, response.content
    assert int(response["Retry-After"]) > 0
    assert response.json()["code"] == "throttled"


@pytest.mark.django_db
def test_google_sign_in_beyond_the_social_rate_is_429(api_client, google, social_rate):
    for _ in range(3):
        assert google_sign_in(api_client, google.id_token()).status_code in (200, 201)

    assert_throttled(google_sign_in(api_client, google.id_token()))
    assert google.certs_fetches == 1
    # another network has its own bucket
    other = google_sign_in(api_client, google.id_token(), REMOTE_ADDR="198.51.100.7")
    assert other.status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_refused_tokens_count_towards_the_rate(api_client, google, social_rate):
    for _ in range(3):
        assert google_sign_in(api_client, "abc").status_code == HTTPStatus.UNAUTHORIZED

    assert_throttled(google_sign_in(api_client, google.id_token()))
    assert SocialIdentity.objects.count() == 0


@pytest.mark.django_db
def test_the_code_flow_shares_the_social_rate(api_client, google, social_rate):
    for _ in range(3):
        code_sign_in(api_client, f"{SOCIAL}google/", code="made-up", redirect_uri=REDIRECT_URI)

    response = code_sign_in(
        api_client, f"{SOCIAL}google/", code=google.code_for(google.id_token()), redirect_uri=REDIRECT_URI
    )

    assert_throttled(response)
    assert len(google.token_requests) == 3  # the throttled request never reached the token endpoint
