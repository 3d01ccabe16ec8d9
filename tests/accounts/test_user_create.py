"""One way to make an account (``accounts.services.users.user_create``) and one sign-up rule
(``signup_allowed``), whatever the way in: registration, a first magic link, an invitation, a provider."""

from __future__ import annotations

import pytest

from accounts.models import User
from accounts.services.users import signup_allowed, user_create
from core.http import RequestMeta
from tenants.audit import AuditEventType as E
from tests.audit.helpers import events, only
from tests.factories import make_user

META = RequestMeta(ip="203.0.113.9", user_agent="test")


@pytest.mark.django_db
def test_an_account_is_made_and_recorded_with_how():
    user = user_create(email="Nia@Example.COM", method="magic_link", meta=META, email_verified=True)

    assert (user.email, user.email_verified, user.has_usable_password()) == ("nia@example.com", True, False)
    registered = only(E.USER_REGISTERED)
    assert (registered.subject_user_id, registered.actor_user_id, registered.org_id) == (user.pk, user.pk, None)
    assert registered.details == {"method": "magic_link"}
    assert str(registered.ip) == "203.0.113.9"


@pytest.mark.django_db
def test_an_address_that_has_an_account_gets_none_and_nothing_is_recorded():
    make_user(email="nia@example.com")

    assert user_create(email="NIA@example.com", method="google", meta=META) is None
    assert User.objects.filter(email="nia@example.com").count() == 1
    assert events(type=E.USER_REGISTERED) == []


@pytest.mark.django_db
def test_a_password_is_hashed_and_usable():
    user = user_create(email="nia@example.com", password="violet tangerine 42", method="invitation", meta=META)

    assert user.check_password("violet tangerine 42")
    assert "violet" not in user.password


def test_the_sign_up_rule_is_auth_allow_signup(settings):
    settings.AUTH_ALLOW_SIGNUP = False
    assert signup_allowed() is False
    settings.AUTH_ALLOW_SIGNUP = True
    assert signup_allowed() is True
