"""No credential on an error page, with DEBUG on too (``core.error_reports``, the default reporter filter):
settings, ``request.META``, POST parameters and a traceback's local variables are cleansed of passwords,
connection strings and URLs with a userinfo part."""

from __future__ import annotations

import sys

import pytest
from django.test import RequestFactory
from django.views.debug import get_default_exception_reporter_filter, technical_500_response

STARS = "********************"
REDIS_URL = "redis://:hunter2-redis@cache.internal:6379/0"
# Built, not written: the page shows the source lines around the failure, this file's included.
SECRET = "".join(["hun", "ter2", "-x9"])


@pytest.fixture
def report_filter():
    return get_default_exception_reporter_filter()


def test_the_project_filter_is_the_default(report_filter):
    assert type(report_filter).__module__ == "core.error_reports"


def test_a_redis_url_with_a_password_is_hidden_from_the_settings(settings, report_filter):
    settings.REDIS_URL = REDIS_URL
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": REDIS_URL}
    }

    safe = report_filter.get_safe_settings()

    assert safe["REDIS_URL"] == STARS
    assert safe["CACHES"]["default"]["LOCATION"] == STARS
    assert "hunter2" not in repr(safe)


def test_the_database_password_is_hidden(report_filter):
    databases = {"default": {"ENGINE": "core.postgres", "NAME": "authsvc", "PASSWORD": "hunter2-db"}}

    assert report_filter.cleanse_setting("DATABASES", databases) == STARS
    assert report_filter.cleanse_setting("OTHER", databases)["default"]["PASSWORD"] == STARS


@pytest.mark.parametrize(
    ("value", "cleansed"),
    [
        ("redis://:hunter2@cache:6379/0", f"redis://{STARS}@cache:6379/0"),
        ("postgres://authsvc:p@ss@db.internal:5432/authsvc", f"postgres://{STARS}@db.internal:5432/authsvc"),
        ("https://ghp_hunter2@github.com/org/repo.git", f"https://{STARS}@github.com/org/repo.git"),
        ("postgres://db/authsvc?user=a&password=hunter2", f"postgres://db/authsvc?user=a&password={STARS}"),
        ("host=db password=hunter2 dbname=authsvc", f"host=db password={STARS} dbname=authsvc"),
        ("https://auth.example.com/api/auth/", "https://auth.example.com/api/auth/"),
    ],
)
def test_any_setting_holding_credentials_in_a_url_or_dsn_is_cleansed(report_filter, value, cleansed):
    assert report_filter.cleanse_setting("WEBHOOK_PROXY", value) == cleansed


def test_the_technical_500_page_shows_no_credential_with_debug_on(settings):
    settings.DEBUG = True
    settings.REDIS_URL = f"redis://:{SECRET}-redis@cache.internal:6379/0"
    settings.UPSTREAM = f"https://relay:{SECRET}-setting@relay.internal/"
    request = RequestFactory().post(
        "/admin/login/",
        {"username": "root@example.com", "password": f"{SECRET}-post"},
        DATABASE_URL=f"postgres://authsvc:{SECRET}-meta@db.internal/authsvc",  # runserver copies the environment
    )
    request.sensitive_post_parameters = ["password"]  # as the admin's login view marks it

    def connect():
        connection_parameters = {"host": "db.internal", "password": f"{SECRET}-local"}  # noqa: F841
        url = f"redis://:{SECRET}-variable@cache.internal:6379/0"  # noqa: F841
        raise RuntimeError("connection refused")

    try:
        connect()
    except RuntimeError:
        page = technical_500_response(request, *sys.exc_info()).content.decode()

    assert "connection refused" in page and "cache.internal:6379" in page  # the page is there
    assert SECRET not in page


def test_credentials_in_neutrally_named_variables_are_hidden_by_their_shape(settings):
    """``raw`` in the Bearer and API-key authenticators holds the whole credential: a JWT, an API key."""
    settings.DEBUG = True
    jwt_like = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoiMSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    api_key = "authsvc_ab12cd34_" + "s" * 32
    webhook_secret = "whsec_" + "A" * 32
    emailed = "T" * 43

    def authenticate():
        raw = jwt_like  # noqa: F841
        key = api_key  # noqa: F841
        value = f"{webhook_secret} {emailed}"  # noqa: F841
        raise RuntimeError("refused")

    try:
        authenticate()
    except RuntimeError:
        page = technical_500_response(RequestFactory().get("/"), *sys.exc_info()).content.decode()

    assert "refused" in page
    for secret in (jwt_like, api_key, webhook_secret, emailed):
        assert secret not in page
