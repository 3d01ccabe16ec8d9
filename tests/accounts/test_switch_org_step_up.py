"""switch-org proves nothing new: the new session keeps the old one's sign-in time, so it can't be used to
pass step-up (a stolen access token must not buy a 'recent sign-in' by switching orgs)."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.utils import timezone

from accounts.models import Session
from tests.api import AUTH, bearer, claims, login
from tests.factories import DEFAULT_PASSWORD, make_org


@pytest.mark.django_db
def test_switch_org_keeps_the_sign_in_time_so_step_up_still_applies(api_client, user, org):
    other = make_org(name="Initech", owner=user)
    access = login(api_client, user.email, org=str(org.id)).json()["access"]
    signed_in_at = timezone.now() - timedelta(hours=1)
    Session.objects.filter(id=claims(access)["sid"]).update(authenticated_at=signed_in_at)

    switched = api_client.post(
        f"{AUTH}/switch-org/", {"org_id": str(other.id)}, format="json", **bearer(access)
    )
    assert switched.status_code == HTTPStatus.OK
    new_access = switched.json()["access"]

    assert Session.objects.get(id=claims(new_access)["sid"]).authenticated_at == signed_in_at
    change = api_client.post(
        f"{AUTH}/password/change/",
        {"current_password": DEFAULT_PASSWORD, "new_password": "a brand new passphrase 7"},
        format="json",
        **bearer(new_access),
    )
    assert change.status_code == HTTPStatus.FORBIDDEN
    assert change.json()["code"] == "reauthentication_required"
