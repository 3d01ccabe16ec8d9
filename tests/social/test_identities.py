"""GET and DELETE me/identities/: the caller's linked identities, unlinked only while another way to
sign in remains (a usable password or another identity)."""

from __future__ import annotations

import uuid
from datetime import datetime
from http import HTTPStatus

import pytest

from accounts.models import User
from social.models import SocialIdentity
from tenants.audit import AuditEventType as E
from tests.api import bearer, login
from tests.audit.helpers import events, only
from tests.factories import make_user
from tests.social.helpers import IDENTITIES, google_sign_in

GMAIL = "ada@gmail.com"


@pytest.fixture
def google_only(api_client, google) -> dict:
    """Ada, signed up with Google (no usable password): her sign-in body."""
    response = google_sign_in(api_client, google.id_token())
    assert response.status_code == HTTPStatus.CREATED
    return response.json()


@pytest.fixture
def stranger_identity(db) -> SocialIdentity:
    hank = make_user(email="hank@gmail.com", email_verified=True)
    return SocialIdentity.objects.create(
        user=hank, provider="google", subject="google-sub-hank", email="hank@gmail.com"
    )


def detail(identity_id) -> str:
    return f"{IDENTITIES}{identity_id}/"


@pytest.mark.django_db
def test_the_list_shows_the_callers_identities_only(api_client, google_only, stranger_identity):
    mine = SocialIdentity.objects.get(subject="google-sub-ada")

    response = api_client.get(IDENTITIES, **bearer(google_only["access"]))

    assert response.status_code == HTTPStatus.OK
    assert response.json() == [
        {
            "id": str(mine.id),
            "provider": "google",
            "email": GMAIL,
            "created_at": response.json()[0]["created_at"],
        }
    ]
    assert datetime.fromisoformat(response.json()[0]["created_at"]) == mine.created_at


@pytest.mark.django_db
def test_a_user_without_identities_gets_an_empty_list(api_client, user, stranger_identity):
    access = login(api_client, user.email).json()["access"]

    response = api_client.get(IDENTITIES, **bearer(access))

    assert response.status_code == HTTPStatus.OK
    assert response.json() == []


@pytest.mark.django_db
def test_unlinking_another_users_identity_is_404(api_client, google_only, stranger_identity):
    response = api_client.delete(detail(stranger_identity.id), **bearer(google_only["access"]))

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == "identity_not_found"
    assert SocialIdentity.objects.filter(pk=stranger_identity.pk).exists()
    assert events(type=E.IDENTITY_UNLINKED) == []


@pytest.mark.django_db
def test_unlinking_an_unknown_identity_is_404(api_client, google_only):
    response = api_client.delete(detail(uuid.uuid4()), **bearer(google_only["access"]))

    assert response.status_code == HTTPStatus.NOT_FOUND


@pytest.mark.django_db
def test_the_only_identity_of_a_google_only_user_cannot_be_unlinked(api_client, google_only):
    identity = SocialIdentity.objects.get()

    response = api_client.delete(detail(identity.id), **bearer(google_only["access"]))

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["code"] == "last_sign_in_method"
    assert SocialIdentity.objects.filter(pk=identity.pk).exists()
    assert events(type=E.IDENTITY_UNLINKED) == []


@pytest.mark.django_db
def test_with_a_usable_password_the_identity_is_unlinked(api_client, google):
    ada = make_user(email=GMAIL, email_verified=True)
    assert google_sign_in(api_client, google.id_token()).status_code == HTTPStatus.OK
    identity = SocialIdentity.objects.get()
    access = login(api_client, GMAIL).json()["access"]

    response = api_client.delete(detail(identity.id), **bearer(access))

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert not SocialIdentity.objects.exists()
    unlinked = only(E.IDENTITY_UNLINKED)
    assert unlinked.details == {"provider": "google", "identity_id": str(identity.id)}
    assert (unlinked.subject_user_id, unlinked.actor_user_id) == (ada.id, ada.id)
    assert api_client.get(IDENTITIES, **bearer(access)).json() == []
    assert User.objects.get(pk=ada.pk).has_usable_password()


@pytest.mark.django_db
def test_with_another_identity_one_can_be_unlinked_but_not_the_last(api_client, google_only):
    ada = User.objects.get()
    second = SocialIdentity.objects.create(
        user=ada, provider="google", subject="google-sub-ada-work", email="ada@acme.test"
    )
    first = SocialIdentity.objects.get(subject="google-sub-ada")
    headers = bearer(google_only["access"])

    assert api_client.delete(detail(second.id), **headers).status_code == HTTPStatus.NO_CONTENT
    assert api_client.delete(detail(first.id), **headers).status_code == HTTPStatus.CONFLICT
    assert list(SocialIdentity.objects.values_list("pk", flat=True)) == [first.pk]


@pytest.mark.django_db
def test_an_unlinked_identity_signs_in_as_a_new_link(api_client, google):
    """Unlinked, the same Google account signs in again by its (authoritative) address and is relinked."""
    ada = make_user(email=GMAIL, email_verified=True)
    google_sign_in(api_client, google.id_token())
    access = login(api_client, GMAIL).json()["access"]
    api_client.delete(detail(SocialIdentity.objects.get().id), **bearer(access))

    response = google_sign_in(api_client, google.id_token())

    assert response.status_code == HTTPStatus.OK
    assert SocialIdentity.objects.get().user_id == ada.id


@pytest.mark.django_db
def test_unauthenticated_is_401(api_client, google_only):
    identity = SocialIdentity.objects.get()
    api_client.credentials()

    assert api_client.get(IDENTITIES).status_code == HTTPStatus.UNAUTHORIZED
    assert api_client.delete(detail(identity.id)).status_code == HTTPStatus.UNAUTHORIZED
    assert api_client.get(IDENTITIES, **bearer("not-a-token")).status_code == HTTPStatus.UNAUTHORIZED
    assert SocialIdentity.objects.filter(pk=identity.pk).exists()


@pytest.mark.django_db
def test_unlinking_needs_a_recent_sign_in(api_client, google):
    """Second security review, item 12: an old session (a stolen token) can't strip the account's ways in."""
    from tests.mfa.helpers import REAUTHENTICATION_REQUIRED, sign_in_long_ago

    make_user(email=GMAIL, email_verified=True)
    assert google_sign_in(api_client, google.id_token()).status_code == HTTPStatus.OK
    identity = SocialIdentity.objects.get()
    access = login(api_client, GMAIL).json()["access"]
    sign_in_long_ago(access)

    response = api_client.delete(detail(identity.id), **bearer(access))

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == REAUTHENTICATION_REQUIRED
    assert SocialIdentity.objects.filter(pk=identity.pk).exists()
