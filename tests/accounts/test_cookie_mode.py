"""Cookie mode for SPAs (``AUTH_REFRESH_COOKIE``, ``AUTH_REFRESH_COOKIE_ONLY``; API.md, issue 12).

Refused cookie calls (403) and failed refreshes roll back pytest-django's per-test transaction, so tests
that look at the database after one are transactional: as in production, every request commits alone.
"""

from __future__ import annotations

import time
from http import HTTPStatus
from urllib.parse import urlencode

import pytest

from accounts.models import Session
from tenants.audit import AuditEventType
from tenants.rls.context import tenant_context
from tests.api import AUTH, bearer, claims, login
from tests.audit.helpers import events
from tests.factories import DEFAULT_PASSWORD, make_org
from tests.processes import manage

APP = "https://app.example.com"
COOKIE = "refresh_token"
ORIGIN_REFUSED = {
    "detail": "A call authenticated by the refresh cookie must come from an allowed origin.",
    "code": "origin_not_allowed",
}


@pytest.fixture
def cookie_mode(settings):
    settings.AUTH_REFRESH_COOKIE = True
    settings.CORS_ALLOWED_ORIGINS = [APP, "http://localhost:3000"]
    return settings


@pytest.fixture
def cookie_only(cookie_mode):
    cookie_mode.AUTH_REFRESH_COOKIE_ONLY = True
    return cookie_mode


def signed_in(client, user) -> tuple[dict, str]:
    """Sign in; the body and the refresh cookie's value."""
    response = login(client, user.email)
    assert response.status_code == HTTPStatus.OK
    return response.json(), response.cookies[COOKIE].value


def refresh_by_cookie(client, origin: str | None = APP):
    headers = {"HTTP_ORIGIN": origin} if origin is not None else {}
    return client.post(f"{AUTH}/refresh/", {}, format="json", **headers)


def logout_by_cookie(client, origin: str | None = APP):
    headers = {"HTTP_ORIGIN": origin} if origin is not None else {}
    return client.post(f"{AUTH}/logout/", {}, format="json", **headers)


def oauth_token(client, user):
    form = urlencode({"grant_type": "password", "username": user.email, "password": DEFAULT_PASSWORD})
    return client.post(f"{AUTH}/token/", form, content_type="application/x-www-form-urlencoded")


def session_row(token: str) -> tuple:
    return Session.objects.values_list("refresh_jti", "revoked_at").get(id=claims(token)["sid"])


def assert_cleared(response) -> None:
    cookie = response.cookies[COOKIE]
    assert cookie.value == ""
    assert cookie["max-age"] == 0
    assert cookie["path"] == "/api/auth/"


# --- The cookie itself ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_sign_in_sets_the_refresh_cookie_with_exactly_these_flags(api_client, user, org, cookie_mode):
    response = login(api_client, user.email)

    assert response.status_code == HTTPStatus.OK
    cookie = response.cookies[COOKIE]
    assert cookie.value == response.json()["refresh"]
    assert cookie["httponly"] is True
    assert cookie["secure"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/api/auth/"
    assert not cookie["domain"]  # host-only
    lifetime = claims(cookie.value)["exp"] - int(time.time())
    assert abs(cookie["max-age"] - lifetime) <= 2
    assert abs(cookie["max-age"] - 14 * 86400) <= 2
    header = cookie.output(header="")
    for flag in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/api/auth/"):
        assert flag in header
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_without_cookie_mode_no_cookie_is_set_and_a_cookie_is_ignored(api_client, user, org, settings):
    tokens = login(api_client, user.email).json()
    assert COOKIE not in login(api_client, user.email).cookies

    api_client.cookies[COOKIE] = tokens["refresh"]
    response = refresh_by_cookie(api_client)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"refresh": ["This field is required."]}


@pytest.mark.django_db
def test_every_endpoint_that_returns_a_pair_sets_the_cookie(api_client, user, org, cookie_mode):
    other = make_org(name="Initech", owner=user)
    assert other
    register = api_client.post(
        f"{AUTH}/register/",
        {
            "email": "new@example.com",
            "password": "violet tangerine submarine 42",
            "organization_name": "New Co",
        },
        format="json",
    )
    token = oauth_token(api_client, user)
    tokens = login(api_client, user.email, org=str(org.id)).json()
    switched = api_client.post(
        f"{AUTH}/switch-org/", {"org_id": str(other.id)}, format="json", **bearer(tokens["access"])
    )
    changed = api_client.post(
        f"{AUTH}/password/change/",
        {"current_password": DEFAULT_PASSWORD, "new_password": "a brand new passphrase 7"},
        format="json",
        **bearer(switched.json()["access"]),
    )
    refreshed = api_client.post(f"{AUTH}/refresh/", {"refresh": changed.json()["refresh"]}, format="json")

    for response, field in [
        (register, "refresh"),
        (token, "refresh_token"),
        (switched, "refresh"),
        (changed, "refresh"),
        (refreshed, "refresh"),
    ]:
        assert response.status_code in (HTTPStatus.OK, HTTPStatus.CREATED), response.json()
        assert response.cookies[COOKIE].value == response.json()[field]
        assert response.cookies[COOKIE]["httponly"] is True


# --- refresh/ from the cookie ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_refresh_from_the_cookie_with_an_allowed_origin_rotates(api_client, user, org, cookie_mode):
    _tokens, cookie = signed_in(api_client, user)

    response = refresh_by_cookie(api_client)

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert claims(body["refresh"])["sid"] == claims(cookie)["sid"]
    assert response.cookies[COOKIE].value == body["refresh"] != cookie
    assert session_row(cookie)[0].hex == claims(body["refresh"])["jti"]


@pytest.mark.django_db
def test_the_body_wins_over_the_cookie_and_needs_no_origin(api_client, user, org, cookie_mode):
    first, _ = signed_in(api_client, user)
    _second, cookie = signed_in(api_client, user)  # the cookie now holds the second session's token

    response = api_client.post(f"{AUTH}/refresh/", {"refresh": first["refresh"]}, format="json")

    assert response.status_code == HTTPStatus.OK
    assert claims(response.json()["refresh"])["sid"] == claims(first["refresh"])["sid"]
    assert claims(cookie)["sid"] != claims(first["refresh"])["sid"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "origin",
    [None, "https://evil.example", "null", "https://app.example.com.evil.example", "http://app.example.com"],
    ids=["missing", "foreign", "null", "suffix", "other_scheme"],
)
def test_refresh_from_the_cookie_without_an_allowed_origin_is_403_and_spends_nothing(
    api_client, user, org, cookie_mode, origin
):
    _, cookie = signed_in(api_client, user)
    before = session_row(cookie)

    response = refresh_by_cookie(api_client, origin)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == ORIGIN_REFUSED
    assert COOKIE not in response.cookies  # not cleared: a cross-site page must not sign anyone out
    assert session_row(cookie) == before
    (event,) = events(type=AuditEventType.REFRESH_COOKIE_ORIGIN_REFUSED)
    assert event.subject_user_id == user.id
    assert event.details == {"endpoint": "refresh", "origin": origin or ""}
    assert refresh_by_cookie(api_client).status_code == HTTPStatus.OK  # the token was not spent


@pytest.mark.django_db(transaction=True)
def test_a_forged_cookie_from_a_foreign_origin_is_refused_and_audited_without_a_subject(
    api_client, user, org, cookie_mode
):
    api_client.cookies[COOKIE] = "not.a.token"

    response = refresh_by_cookie(api_client, "https://evil.example")

    assert response.status_code == HTTPStatus.FORBIDDEN
    (event,) = events(type=AuditEventType.REFRESH_COOKIE_ORIGIN_REFUSED)
    assert event.subject_user_id is None


@pytest.mark.django_db(transaction=True)
def test_reuse_detected_through_the_cookie_revokes_the_session_and_clears_the_cookie(
    api_client, user, org, cookie_mode, settings
):
    settings.JWT_REFRESH_REUSE_GRACE_SECONDS = 0
    _, stale = signed_in(api_client, user)
    assert refresh_by_cookie(api_client).status_code == HTTPStatus.OK
    api_client.cookies[COOKIE] = stale  # a replay of the spent token

    response = refresh_by_cookie(api_client)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert_cleared(response)
    assert session_row(stale)[1] is not None


@pytest.mark.django_db(transaction=True)
def test_an_invalid_cookie_is_cleared(api_client, user, org, cookie_mode):
    api_client.cookies[COOKIE] = "not.a.token"

    response = refresh_by_cookie(api_client)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "token_not_valid"
    assert_cleared(response)


@pytest.mark.django_db
def test_refresh_with_neither_body_nor_cookie_is_400(api_client, cookie_mode):
    response = refresh_by_cookie(api_client)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"refresh": ["This field is required."]}


# --- logout/ ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_logout_from_the_cookie_alone_ends_its_session_and_clears_the_cookie(
    api_client, user, org, cookie_mode
):
    tokens, cookie = signed_in(api_client, user)

    response = logout_by_cookie(api_client)

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert_cleared(response)
    assert session_row(cookie)[1] is not None
    assert api_client.get(f"{AUTH}/me/", **bearer(tokens["access"])).status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.django_db
def test_logout_with_a_bearer_token_clears_the_cookie_too(api_client, user, org, cookie_mode):
    tokens, cookie = signed_in(api_client, user)

    response = api_client.post(f"{AUTH}/logout/", {}, format="json", **bearer(tokens["access"]))

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert_cleared(response)
    assert session_row(cookie)[1] is not None


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("origin", [None, "https://evil.example"], ids=["missing", "foreign"])
def test_logout_from_the_cookie_without_an_allowed_origin_is_403_and_ends_nothing(
    api_client, user, org, cookie_mode, origin
):
    _, cookie = signed_in(api_client, user)

    response = logout_by_cookie(api_client, origin)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == ORIGIN_REFUSED
    assert COOKIE not in response.cookies
    assert session_row(cookie)[1] is None
    (event,) = events(type=AuditEventType.REFRESH_COOKIE_ORIGIN_REFUSED)
    assert event.details["endpoint"] == "logout"


@pytest.mark.django_db
def test_logout_with_a_refresh_token_in_the_body_and_no_bearer_ends_that_session(api_client, user, org):
    tokens = login(api_client, user.email).json()

    response = api_client.post(f"{AUTH}/logout/", {"refresh": tokens["refresh"]}, format="json")

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert session_row(tokens["refresh"])[1] is not None
    assert COOKIE not in response.cookies  # cookie mode is off


@pytest.mark.django_db
def test_logout_with_no_credentials_at_all_is_401(api_client, cookie_mode):
    response = logout_by_cookie(api_client)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.django_db(transaction=True)
def test_logout_with_an_invalid_cookie_is_401_and_clears_it(api_client, cookie_mode):
    api_client.cookies[COOKIE] = "not.a.token"

    response = logout_by_cookie(api_client)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert_cleared(response)


@pytest.mark.django_db
def test_an_api_key_still_cannot_log_out(api_client, user, org, cookie_mode):
    from apikeys.services import api_key_create

    with tenant_context(org.id):
        key = api_key_create(
            org_id=org.id, name="ci", scopes=["members:read"], expires_at=None, created_by_id=None
        )[1]

    response = api_client.post(f"{AUTH}/logout/", {}, format="json", HTTP_X_API_KEY=key)

    assert response.status_code == HTTPStatus.FORBIDDEN


# --- Cookie-only mode -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_cookie_only_mode_keeps_the_refresh_token_out_of_every_body(api_client, user, org, cookie_only):
    signed = login(api_client, user.email)
    refreshed = refresh_by_cookie(api_client)
    oauth = oauth_token(api_client, user)

    for response, field in [(signed, "refresh"), (refreshed, "refresh"), (oauth, "refresh_token")]:
        assert response.status_code == HTTPStatus.OK
        body = response.json()
        assert field not in body
        assert response.cookies[COOKIE].value not in response.content.decode()
        assert body.get("access") or body.get("access_token")
    assert claims(refreshed.cookies[COOKIE].value)["sid"] == claims(signed.cookies[COOKIE].value)["sid"]
    assert logout_by_cookie(api_client).status_code == HTTPStatus.NO_CONTENT


def test_cookie_only_without_cookie_mode_refuses_to_start():
    result = manage("check", AUTH_REFRESH_COOKIE="0", AUTH_REFRESH_COOKIE_ONLY="1")

    assert result.returncode != 0
    assert "AUTH_REFRESH_COOKIE_ONLY=1 needs AUTH_REFRESH_COOKIE=1" in result.stderr


# --- CORS ----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_cors_allows_credentials_for_listed_origins_only(api_client, cookie_mode):
    preflight = {
        "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST",
        "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "content-type",
    }

    allowed = api_client.options(f"{AUTH}/refresh/", HTTP_ORIGIN=APP, **preflight)
    foreign = api_client.options(f"{AUTH}/refresh/", HTTP_ORIGIN="https://evil.example", **preflight)

    assert allowed["Access-Control-Allow-Origin"] == APP
    assert allowed["Access-Control-Allow-Credentials"] == "true"
    assert "Access-Control-Allow-Origin" not in foreign
    assert "Access-Control-Allow-Credentials" not in foreign


@pytest.mark.django_db
def test_switch_org_in_cookie_mode_moves_the_cookie_to_the_new_session(api_client, user, org, cookie_mode):
    other = make_org(name="Initech", owner=user)
    tokens, cookie = signed_in(api_client, user)

    response = api_client.post(
        f"{AUTH}/switch-org/", {"org_id": str(other.id)}, format="json", **bearer(tokens["access"])
    )

    assert response.status_code == HTTPStatus.OK
    assert claims(response.cookies[COOKIE].value)["org_id"] == str(other.id)
    assert session_row(cookie)[1] is not None  # the old session ended


def test_cookie_mode_without_allowed_origins_warns_at_startup():
    result = manage("check", AUTH_REFRESH_COOKIE="1", CORS_ALLOWED_ORIGINS="")
    listed = manage("check", AUTH_REFRESH_COOKIE="1", CORS_ALLOWED_ORIGINS="https://app.example.com")

    assert "core.W003" in result.stderr
    assert "core.W003" not in listed.stderr + listed.stdout


# --- Setting the cookie: no login CSRF ----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("origin", ["https://evil.example", "null"])
def test_a_cross_site_form_post_to_token_sets_no_cookie(api_client, user, org, cookie_mode, origin):
    """token/ takes a form, which any page can post without a preflight: its answer must not plant the
    poster's session in the victim's browser."""
    form = urlencode({"grant_type": "password", "username": user.email, "password": DEFAULT_PASSWORD})

    response = api_client.post(
        f"{AUTH}/token/", form, content_type="application/x-www-form-urlencoded", HTTP_ORIGIN=origin
    )

    assert response.status_code == HTTPStatus.OK
    assert COOKIE not in response.cookies


@pytest.mark.django_db
def test_a_sign_in_from_a_foreign_origin_sets_no_cookie_and_a_listed_one_does(
    api_client, user, org, cookie_mode
):
    body = {"email": user.email, "password": DEFAULT_PASSWORD}
    foreign = api_client.post(f"{AUTH}/login/", body, format="json", HTTP_ORIGIN="https://evil.example")
    listed = api_client.post(f"{AUTH}/login/", body, format="json", HTTP_ORIGIN=APP)

    assert foreign.status_code == listed.status_code == HTTPStatus.OK
    assert COOKIE not in foreign.cookies
    assert listed.cookies[COOKIE].value == listed.json()["refresh"]


@pytest.mark.django_db(transaction=True)
def test_several_refresh_cookies_are_refused_and_nothing_is_spent(api_client, user, org, cookie_mode):
    """A sibling subdomain can add a refresh_token cookie for the parent domain: which one the parser
    keeps must not decide whose session the SPA gets."""
    _, mine = signed_in(api_client, user)
    theirs = login(api_client, user.email).json()["refresh"]
    api_client.cookies.clear()
    before = [session_row(mine), session_row(theirs)]

    response = api_client.post(
        f"{AUTH}/refresh/",
        {},
        format="json",
        HTTP_ORIGIN=APP,
        HTTP_COOKIE=f"{COOKIE}={mine}; {COOKIE}={theirs}",
    )

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == {
        "detail": "Several refresh cookies were sent: sign in again.",
        "code": "token_not_valid",
    }
    assert_cleared(response)
    assert [session_row(mine), session_row(theirs)] == before


@pytest.mark.django_db
def test_logout_all_clears_the_cookie(api_client, user, org, cookie_mode):
    tokens, cookie = signed_in(api_client, user)

    response = api_client.post(f"{AUTH}/logout-all/", **bearer(tokens["access"]))

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert_cleared(response)
    assert session_row(cookie)[1] is not None
