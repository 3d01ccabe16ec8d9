"""Security headers and deploy checks (README "Security"): no caching of API responses, nosniff,
Referrer-Policy, frame and opener policies, the CSP on the API's own HTML, HSTS, the HTTPS redirect
and its local exemption, and a clean ``manage.py check --deploy`` under production settings."""

from __future__ import annotations

import re
from http import HTTPStatus

import pytest
from django.test import Client

from tests.api import AUTH, bearer, login
from tests.apikeys.helpers import KEYS, new_key, roll
from tests.invitations.helpers import create as create_invitation
from tests.processes import manage

ME = f"{AUTH}/me/"
PUBLIC_HOST = "auth.example.com"
STRICT_CSP = {
    "default-src": ["'none'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "font-src": ["'self'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "security-headers-test-django-secret-key-0123456789abcdef",
    "JWT_SIGNING_KEY": "security-headers-test-jwt-signing-key-0123456789abcdefghij",
    "ALLOWED_HOSTS": PUBLIC_HOST,
    "REDIS_URL": "redis://127.0.0.1:6379/0",  # parsed, not connected
}


def csp(response) -> dict[str, list[str]]:
    """The Content-Security-Policy header as {directive: sources} (directive order is not fixed)."""
    directives = (part.split() for part in response["Content-Security-Policy"].split(";") if part.strip())
    return {name: sources for name, *sources in directives}


def assert_security_headers(response) -> None:
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert csp(response) == STRICT_CSP


@pytest.fixture
def ada_access(api_client, user, org) -> str:
    response = login(api_client, "ada@example.com")
    assert response.status_code == HTTPStatus.OK, response.json()
    return response.json()["access"]


# --- Cache-Control on the API ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_token_response_keeps_its_own_no_store_and_pragma(api_client, user, org):
    response = login(api_client, "ada@example.com")

    assert response.status_code == HTTPStatus.OK
    assert (response["Cache-Control"], response["Pragma"]) == ("no-store", "no-cache")
    assert_security_headers(response)


@pytest.mark.django_db
def test_an_api_key_create_response_is_not_cacheable(api_client, ada_access):
    response = api_client.post(KEYS, {"name": "CI"}, format="json", **bearer(ada_access))

    assert response.status_code == HTTPStatus.CREATED
    assert "key" in response.json()
    assert response["Cache-Control"] == "no-store"
    assert_security_headers(response)


@pytest.mark.django_db
def test_an_api_key_roll_response_is_not_cacheable(api_client, ada_access):
    created = new_key(api_client, ada_access)

    response = roll(api_client, ada_access, created["id"])

    assert response.status_code == HTTPStatus.CREATED
    assert "key" in response.json()
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_a_response_with_a_debug_link_is_not_cacheable(api_client, settings, ada_access):
    settings.DEBUG = True  # debug_link is shown with DEBUG only

    response = create_invitation(api_client, ada_access, "new@example.com")

    assert response.status_code == HTTPStatus.CREATED
    assert "debug_link" in response.json()
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_me_response_is_not_cacheable(api_client, ada_access):
    response = api_client.get(ME, **bearer(ada_access))

    assert response.status_code == HTTPStatus.OK
    assert response["Cache-Control"] == "no-store"
    assert_security_headers(response)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "status"),
    [(ME, HTTPStatus.UNAUTHORIZED), (f"{AUTH}/no-such-endpoint/", HTTPStatus.NOT_FOUND)],
)
def test_an_api_error_response_is_not_cacheable(api_client, path, status):
    response = api_client.get(path)

    assert response.status_code == status
    assert response["Cache-Control"] == "no-store"
    assert_security_headers(response)


def test_responses_outside_the_api_are_not_forced_to_no_store(client):
    response = client.get("/healthz")  # like /.well-known/jwks.json and /static/: cacheable if they say so

    assert response.status_code == HTTPStatus.OK
    assert "Cache-Control" not in response
    assert response["X-Content-Type-Options"] == "nosniff"


# --- The API's own HTML: Swagger UI and the admin ----------------------------------------------------


@pytest.mark.django_db
def test_swagger_ui_has_the_strict_csp(client):
    response = client.get("/api/docs/")

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("text/html")
    assert_security_headers(response)


@pytest.mark.django_db
def test_swagger_ui_has_no_inline_script_or_style(client):
    html = client.get("/api/docs/").content.decode()

    assert "<style" not in html
    assert " style=" not in html
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []


@pytest.mark.django_db
def test_swagger_ui_loads_only_same_origin_files_that_the_app_serves(client):
    html = client.get("/api/docs/").content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)

    assert len(urls) == 6  # favicon, 2 stylesheets, 2 bundles, the start-up script
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        assert client.get(url.replace("&amp;", "&")).status_code == HTTPStatus.OK, url


@pytest.mark.django_db
def test_swagger_ui_start_up_script_is_javascript(client):
    response = client.get("/api/docs/?script=")

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle(" in response.content


@pytest.mark.django_db
def test_admin_login_has_the_strict_csp(client):
    response = client.get("/admin/login/")

    assert response.status_code == HTTPStatus.OK
    assert_security_headers(response)


def test_a_changed_policy_is_served_at_once(client, settings):
    """The policy string is built once (core.middleware.StaticCSPMiddleware), not frozen."""
    assert csp(client.get("/healthz")) == STRICT_CSP
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'self'"]}}

    assert csp(client.get("/healthz")) == {"default-src": ["'self'"]}


def test_a_view_with_its_own_policy_keeps_it(rf, settings):
    from csp.decorators import csp_update
    from django.http import HttpResponse

    from core.middleware import StaticCSPMiddleware

    @csp_update({"img-src": ["https://images.example"]})
    def view(request):
        return HttpResponse("ok")

    middleware = StaticCSPMiddleware(view)
    request = rf.get("/somewhere")
    middleware.process_request(request)
    response = middleware.process_response(request, view(request))

    assert csp(response)["img-src"] == ["'self'", "data:", "https://images.example"]


# --- HTTPS: the redirect and HSTS ------------------------------------------------------------------


@pytest.fixture
def https_production(settings):
    settings.HTTPS_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, PUBLIC_HOST]


@pytest.mark.django_db
@pytest.mark.usefixtures("https_production")
def test_plain_http_to_the_public_host_is_redirected_to_https():
    response = Client(HTTP_HOST=PUBLIC_HOST).get(f"{ME}?x=1")

    assert response.status_code == HTTPStatus.MOVED_PERMANENTLY
    assert response["Location"] == f"https://{PUBLIC_HOST}{ME}?x=1"


@pytest.mark.django_db
@pytest.mark.usefixtures("https_production")
@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost", "localhost:8000", "[::1]:8000"])
def test_plain_http_to_a_local_host_is_served(host):
    response = Client(HTTP_HOST=host).get(ME)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert "Strict-Transport-Security" not in response


@pytest.mark.django_db
@pytest.mark.usefixtures("https_production")
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_over_plain_http_are_served_under_the_public_host(path):
    response = Client(HTTP_HOST=PUBLIC_HOST).get(path)

    assert response.status_code == HTTPStatus.OK


@pytest.mark.django_db
@pytest.mark.usefixtures("https_production")
def test_https_responses_carry_hsts_and_are_not_redirected():
    response = Client(HTTP_HOST=PUBLIC_HOST).get(ME, secure=True)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


# --- manage.py check --deploy ------------------------------------------------------------------------


def test_check_deploy_is_clean_under_production_settings():
    result = manage("check", "--deploy", **PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout, result.stderr


def test_check_deploy_warns_when_the_https_redirect_is_turned_off():
    result = manage("check", "--deploy", **PRODUCTION, SECURE_SSL_REDIRECT="0")

    assert result.returncode == 0
    assert "(core.W002) SECURE_SSL_REDIRECT is off" in result.stderr
    assert "security.W008" not in result.stderr  # Django's twin, about its own redirect, stays silenced


def test_check_deploy_warns_when_hsts_is_turned_off():
    result = manage("check", "--deploy", **PRODUCTION, SECURE_HSTS_SECONDS="0")

    assert "(security.W004)" in result.stderr
