"""Rotating DJANGO_SECRET_KEY with the old key in DJANGO_SECRET_KEY_FALLBACKS keeps every API key working
(they are stored as digests keyed on the secret key); dropping the old key ends them."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from tests.api import AUTH
from tests.apikeys.helpers import new_key, with_key

NEW_SECRET_KEY = "rotated-secret-key-for-the-test-0123456789abcdefghijklmnop"


@pytest.mark.django_db
def test_a_key_made_before_a_rotation_works_while_the_old_secret_is_a_fallback(
    api_client, ada_access, settings
):
    key = new_key(api_client, ada_access)["key"]
    old = settings.SECRET_KEY

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW_SECRET_KEY, [old]
    assert api_client.get(f"{AUTH}/me/", **with_key(key)).status_code == HTTPStatus.OK

    settings.SECRET_KEY_FALLBACKS = []
    assert api_client.get(f"{AUTH}/me/", **with_key(key)).status_code == HTTPStatus.UNAUTHORIZED
