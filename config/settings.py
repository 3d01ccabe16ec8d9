"""Settings, read from the environment (README "Configuration" lists them).

Development needs no environment at all: DEBUG is on (while ``ALLOWED_HOSTS`` names local hosts only),
secrets are fixed development values and the database is an embedded Postgres. With DEBUG off the
process refuses to start on a development secret.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from accounts.signing_keys import KeyConfigError, keyring_load
from config.database import database_settings, resolve_database_url
from core.http import is_local_host, origin_of

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# DEBUG serves technical error pages and leaves out HSTS and Secure cookies. Unset, it follows ALLOWED_HOSTS:
# on while every entry is a local name (nothing set: a fresh clone's runserver), off as soon as one names a
# host others can reach. DJANGO_DEBUG=1 or 0 decides alone.
DEBUG = env_bool("DJANGO_DEBUG", all(is_local_host(host) for host in env_list("ALLOWED_HOSTS")))

_DEV_SECRET = "dev-insecure-secret-key-change-me-in-production-0123456789"
_DEV_JWT_KEY = "dev-insecure-jwt-signing-key-change-me-in-production-0123456789"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", _DEV_SECRET)
# Previous secret keys, while rotating DJANGO_SECRET_KEY: what they sealed or digested (authenticator
# secrets, recovery codes, Django's own signatures) still opens. Comma list.
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS")
JWT_SIGNING_KEY = os.environ.get("JWT_SIGNING_KEY", _DEV_JWT_KEY)
# HS256 signs with JWT_SIGNING_KEY; RS256/ES256 with JWT_PRIVATE_KEY (then JWT_SIGNING_KEY is unused).
JWT_ALGORITHM = os.environ.get("JWT_ALGORITHM", "").strip().upper() or "HS256"
_JWT_SHARED_SECRET = JWT_ALGORITHM == "HS256"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver" if DEBUG else "")


# Whatever DJANGO_DEBUG says, a service reachable under a real host name never
# runs on the development secrets: anyone could mint tokens with them.
_public_hosts = [host for host in ALLOWED_HOSTS if not is_local_host(host)]
_dev_secrets = [
    name
    for name, value, default in (
        ("DJANGO_SECRET_KEY", SECRET_KEY, _DEV_SECRET),
        ("JWT_SIGNING_KEY", JWT_SIGNING_KEY, _DEV_JWT_KEY),
    )
    if value == default and (name != "JWT_SIGNING_KEY" or _JWT_SHARED_SECRET)
]
if _public_hosts and _dev_secrets:
    raise ImproperlyConfigured(
        f"ALLOWED_HOSTS names a non-local host ({', '.join(_public_hosts)}) while "
        f"{' and '.join(_dev_secrets)} {'has its' if len(_dev_secrets) == 1 else 'have their'} development "
        "default: set real secrets (32+ random characters) or serve local hosts only."
    )
if not DEBUG:
    if SECRET_KEY == _DEV_SECRET or len(SECRET_KEY) < 32:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set (32+ characters) when DJANGO_DEBUG is off")
    if _JWT_SHARED_SECRET and (JWT_SIGNING_KEY == _DEV_JWT_KEY or len(JWT_SIGNING_KEY) < 32):
        raise ImproperlyConfigured("JWT_SIGNING_KEY must be set (32+ characters) when DJANGO_DEBUG is off")

INSTALLED_APPS = [
    # tenants first: its `migrate` command (owner connection + role provisioning) overrides Django's.
    "tenants",
    "accounts",
    "magiclinks",
    "social",
    "invitations",
    "apikeys",
    "passkeys",
    "core",
    "config.apps.ProjectConfig",  # the project's own commands (embedded_postgres)
    "config.apps.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's own files, served from /static/ (the CSP allows no CDN)
    "csp",  # django-csp: Content-Security-Policy (its system checks; the middleware is below)
    "corsheaders",
    # The job queue (emails off the request path): its tables live in Postgres beside ours.
    "procrastinate.contrib.django",
]

# Benchmarks only (bench/): baseline endpoints and SimpleJWT's blacklist app for its stock rotation.
BENCH = env_bool("AUTHSVC_BENCH", False) and DEBUG
if BENCH:
    INSTALLED_APPS += ["rest_framework_simplejwt.token_blacklist"]

MIDDLEWARE = [
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",  # HSTS, nosniff, Referrer-Policy, COOP
    "core.middleware.HttpsRedirectMiddleware",  # Django's SECURE_SSL_REDIRECT, minus local hosts
    "whitenoise.middleware.WhiteNoiseMiddleware",  # /static/, before anything that has no business there
    "core.middleware.ApiNoStoreMiddleware",  # Cache-Control: no-store under /api/
    "core.middleware.StaticCSPMiddleware",  # django-csp's, with our one fixed policy built once
    "django.contrib.sessions.middleware.SessionMiddleware",
    "core.middleware.ApiOptionalSlashMiddleware",  # /api/x served as /api/x/, before APPEND_SLASH redirects
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tenants.audit.AuditRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.middleware.DatabaseUnavailableMiddleware",  # 503, not 500, when the database is out of reach
]

ROOT_URLCONF = "config.urls"
# Error pages and mailed reports show no credential, with DEBUG on too: connection strings and URLs with a
# userinfo part are cleansed besides Django's secret names (core.error_reports).
DEFAULT_EXCEPTION_REPORTER_FILTER = "core.error_reports.ErrorReportFilter"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
DATABASE_APP_ROLE = os.environ.get("DATABASE_APP_ROLE", "authsvc_app")
# The role whose RLS policy admits every org: only the named cross-tenant path (tenants.rls.context) takes it.
DATABASE_CROSS_TENANT_ROLE = os.environ.get("DATABASE_CROSS_TENANT_ROLE", f"{DATABASE_APP_ROLE}_cross_tenant")
# `manage.py embedded_postgres` looks after the embedded server itself: loading the settings must neither
# start it (a stop would start one first) nor join it (a status would stop it on leaving, as the last user).
_EMBEDDED_POSTGRES_COMMAND = sys.argv[1:2] == ["embedded_postgres"]
_runtime_db, DATABASE_OWNER_OVERRIDES = database_settings(
    url=resolve_database_url(BASE_DIR, allow_embedded=DEBUG, start_embedded=not _EMBEDDED_POSTGRES_COMMAND),
    migrate_url=os.environ.get("DATABASE_MIGRATE_URL", "").strip() or None,
    app_role=DATABASE_APP_ROLE,
    conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 600),
    prepared_statements=env_bool("DATABASE_PREPARED_STATEMENTS", True),
)
DATABASES = {"default": _runtime_db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"

# --- Passwords (NIST SP 800-63B: length and blocklists, no composition rules) ---------------------
PASSWORD_HASHERS = [
    "accounts.hashers.Argon2idPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "accounts.validators.MaximumLengthValidator", "OPTIONS": {"max_length": 128}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "first_name", "last_name")},
    },
    # Offline: a shipped list of breached passwords, plus the operator's AUTH_BREACHED_PASSWORDS_FILE.
    {"NAME": "accounts.validators.BreachedPasswordValidator"},
    # Online and optional: a k-anonymity range query (5 hex characters of the SHA-1 leave the process) to
    # a Pwned-Passwords-compatible AUTH_PWNED_PASSWORDS_URL; off when unset, and never blocks on failure.
    {"NAME": "accounts.validators.PwnedPasswordsRangeValidator"},
]
AUTH_BREACHED_PASSWORDS_FILE = os.environ.get("AUTH_BREACHED_PASSWORDS_FILE", "").strip()
AUTH_PWNED_PASSWORDS_URL = os.environ.get("AUTH_PWNED_PASSWORDS_URL", "").strip()
AUTH_PWNED_PASSWORDS_TIMEOUT = float(os.environ.get("AUTH_PWNED_PASSWORDS_TIMEOUT", "").strip() or 2)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
# The app serves /static/ itself (whitenoise): the admin and Swagger UI work behind any proxy or none
# (docker compose). From STATIC_ROOT once collectstatic has run (the image), and from the apps' own
# folders too, so `runserver` with DEBUG off works in a checkout; looked up per request with DEBUG.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG  # the environment's DEBUG, not pytest-django's (off while tests run)

# --- Caches (throttling) --------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "").strip()
if REDIS_URL:
    CACHES = {
        "default": {
            # django-redis, with a per-process fallback while Redis is out of reach (core.cache).
            "BACKEND": "core.cache.RedisWithLocalFallback",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 1,
                "SOCKET_TIMEOUT": 1,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- HTTP -----------------------------------------------------------------------------------------
# Bodies above this are refused with 413 (core.exception_handler).
AUTH_MAX_REQUEST_BYTES = env_int("AUTH_MAX_REQUEST_BYTES", 64 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = AUTH_MAX_REQUEST_BYTES
NUM_PROXIES = env_int("NUM_PROXIES", 0)
# Development defaults (DEBUG) fit the reference SPA this server shows at /example/ (examples/spa/, README
# "Integrating a SPA"): links in emails open it, and its origin may make cookie calls (cookie mode is on too,
# below). Production names its own SPA: FRONTEND_URL and CORS_ALLOWED_ORIGINS.
_EXAMPLE_SPA = "http://localhost:8000/example"
FRONTEND_URL = (
    os.environ.get("FRONTEND_URL", "").strip() or (_EXAMPLE_SPA if DEBUG else "http://localhost:3000")
).rstrip("/")
_frontend_origin = origin_of(FRONTEND_URL)
# Also reached as 127.0.0.1 (runserver prints that address): the same page, another origin.
_dev_origins = [_frontend_origin, _frontend_origin.replace("://localhost", "://127.0.0.1")]
CORS_ALLOWED_ORIGINS = env_list(
    "CORS_ALLOWED_ORIGINS", ",".join(dict.fromkeys(_dev_origins)) if DEBUG else ""
)
CORS_ALLOW_CREDENTIALS = True
CORS_EXPOSE_HEADERS = ["Link", "X-Total-Count", "Retry-After"]  # paging of org/members/, throttling
CORS_URLS_REGEX = r"^/api/.*$"

if NUM_PROXIES > 0:
    # Only a proxy we trust (and that overwrites the header) may tell us the request was HTTPS.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# Scoped throttles (accounts.throttles): "<scope>" per client network, "<scope>_email_network" per
# submitted address and network, "<scope>_email" per submitted address. Sign-in's email buckets count
# failed guesses only. Override any with AUTH_THROTTLE_RATES="login=5/min,refresh=1000/min".
THROTTLE_RATES = {
    "login": "30/min",
    "login_email_network": "10/min",
    "login_email": "100/day",
    "register": "20/hour",
    "register_email": "5/hour",
    "refresh": "300/min",
    # Emailed links and codes (magiclinks): per network, and per address (each request sends a mail).
    "magic_link": "30/hour",
    "magic_link_email": "5/hour",
    "magic_link_verify": "60/hour",
    "magic_link_verify_email": "20/day",  # the emailed code: on top of its own cap, which a new link resets
    "password_forgot": "30/hour",
    "password_forgot_email": "5/hour",
    "password_reset": "60/hour",
    "email_verify": "60/hour",
    "email_verify_request": "30/hour",
    "email_verify_request_email": "5/hour",
    "password_change": "30/hour",
    "password_change_email": "10/hour",  # wrong current passwords per account
    "social": "60/min",  # google/ and social/: per network
    "invitation": "60/hour",  # invitations/validate/ and accept/: per network
    # Invitation mail (create and resend) per org, and per invited address on create: no spam cannon.
    "invitation_send_org": "50/hour",
    "invitation_send_email": "5/hour",
    # Second factors: mfa/verify/ per network, and wrong codes per user across challenges; reauthenticate/
    # per network and per account.
    "mfa_verify": "30/min",
    "mfa_verify_user": "20/hour",
    "reauthenticate": "30/min",
    "reauthenticate_email": "10/hour",
    "passkey": "60/min",  # passkeys/login/options/ and passkeys/login/: per network
    "schema": "60/min",  # /api/schema/: per network (served from memory once built; Swagger UI loads it once)
}
THROTTLE_RATES.update(item.split("=", 1) for item in env_list("AUTH_THROTTLE_RATES") if "=" in item)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.BearerAuthentication",
        "apikeys.authentication.ApiKeyAuthentication",  # X-API-Key: only where no Authorization came
    ],
    # A view that names its own permissions decides whether keys may call it (org/ views: by scope).
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "tenants.api.permissions.UserOnly",
    ],
    "DEFAULT_THROTTLE_RATES": THROTTLE_RATES,
    "DEFAULT_PARSER_CLASSES": ["core.parsers.SafeJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "core.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.exception_handler.exception_handler",
    "NUM_PROXIES": NUM_PROXIES,
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "authsvc",
    "DESCRIPTION": "Multi-tenant authentication service: sign-in, tokens, sessions, organizations.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # A PATCH body's required fields stay required (org/members/<id>/ needs its role).
    "COMPONENT_SPLIT_PATCH": False,
    # Swagger UI from this server (drf-spectacular-sidecar), not a CDN: the CSP allows same-origin files
    # only, and the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # 414 where a request has parameters, and the links between operations (core.openapi.postprocess).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "core.openapi.postprocess"],
}

# --- HTTPS and security headers (README "Security") ----------------------------------------------
# Plain HTTP is redirected to HTTPS in production, except the probes and requests to a local host
# (core.middleware.HttpsRedirectMiddleware); SECURE_SSL_REDIRECT=0 where the proxy in front redirects.
# Django's own redirect has no such exception, so it stays off, and its deploy check for it
# (security.W008) gives way to core.W002, which checks this one.
HTTPS_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_SSL_REDIRECT = False
# HSTS, on HTTPS responses: a browser that saw it refuses plain HTTP to this host (with
# includeSubDomains, to every subdomain too) until it expires. Start lower when unsure.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 60 * 60)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
# Preloading builds the domain's HSTS into browsers, hard to undo and binding every subdomain: the
# domain owner's decision, so off unless SECURE_HSTS_PRELOAD=1. `check --deploy` suggests it
# (security.W021); that one warning is silenced only while preload is off, by this default or by choice.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = ["security.W008", *([] if SECURE_HSTS_PRELOAD else ["security.W021"])]
SECURE_CONTENT_TYPE_NOSNIFF = True  # with DEBUG too: a JSON body is never sniffed into HTML or script
# Our URLs (admin object ids, API paths) never leave for other sites. Not "no-referrer": browsers then
# send `Origin: null` on POST, and the admin's CSRF check on HTTPS needs a same-origin Origin or Referer.
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"  # no page of ours in a frame (CSP frame-ancestors says it to newer browsers)
# Content-Security-Policy (django-csp), one policy for every response. The API's own HTML (Swagger UI
# at /api/docs/, the admin) loads same-origin files only: no inline script or style, no CDN (Swagger
# UI's files come from drf-spectacular-sidecar); img-src data: for the SVG icons inside Swagger UI's CSS.
# JSON runs nothing, so the same policy costs it nothing. With DEBUG, django-csp leaves 404 and 500
# responses alone (Django's debug pages use inline styles and scripts).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Tokens ---------------------------------------------------------------------------------------
JWT_ACCESS_MINUTES = env_int("JWT_ACCESS_MINUTES", 15)
JWT_REFRESH_DAYS = env_int("JWT_REFRESH_DAYS", 14)
JWT_REFRESH_REUSE_GRACE_SECONDS = env_int("JWT_REFRESH_REUSE_GRACE_SECONDS", 10)
if not 0 <= JWT_REFRESH_REUSE_GRACE_SECONDS <= 60:
    # Longer, and a stolen refresh token replayed soon after the real client's refresh would be served
    # the same pair instead of revoking the session (API.md: 0-60).
    raise ImproperlyConfigured(
        f"JWT_REFRESH_REUSE_GRACE_SECONDS must lie in 0-60, not {JWT_REFRESH_REUSE_GRACE_SECONDS}"
    )
JWT_LEEWAY_SECONDS = env_int("JWT_LEEWAY_SECONDS", 10)
if not 0 <= JWT_LEEWAY_SECONDS <= 30:
    # Clock skew between the host that minted a token and the one verifying it, allowed on iat/nbf only
    # (accounts.tokens): more than 30 s is no longer skew but a broken clock (issue 25).
    raise ImproperlyConfigured(f"JWT_LEEWAY_SECONDS must lie in 0-30, not {JWT_LEEWAY_SECONDS}")
# Absolute bound on a sign-in: rotation never extends a session past this.
AUTH_SESSION_MAX_DAYS = env_int("AUTH_SESSION_MAX_DAYS", max(30, JWT_REFRESH_DAYS))
# The keys (accounts.signing_keys): refused here, at start-up, when they can't be used.
try:
    JWT_KEYRING = keyring_load(
        algorithm=JWT_ALGORITHM,
        secret=JWT_SIGNING_KEY,
        private_key=os.environ.get("JWT_PRIVATE_KEY", ""),
        previous_public_keys=os.environ.get("JWT_PREVIOUS_PUBLIC_KEYS", ""),
        base_dir=BASE_DIR,
    )
except KeyConfigError as exc:
    raise ImproperlyConfigured(str(exc)) from None
# SimpleJWT's own settings: accounts.tokens reads the lifetimes, issuer and audience (its keys come from
# JWT_KEYRING); the stock HS256 backend is left for bench/'s baseline only.
SIMPLE_JWT = {
    "ALGORITHM": "HS256",
    "SIGNING_KEY": JWT_SIGNING_KEY,
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=JWT_ACCESS_MINUTES),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=JWT_REFRESH_DAYS),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "UPDATE_LAST_LOGIN": False,
    # Every token names who issued it and for whom; verification refuses a token without either.
    "ISSUER": os.environ.get("JWT_ISSUER", "").strip() or "authsvc",
    "AUDIENCE": os.environ.get("JWT_AUDIENCE", "").strip() or "authsvc",
}

AUTH_ALLOW_SIGNUP = env_bool("AUTH_ALLOW_SIGNUP", True)
# Step-up: sensitive actions need a sign-in or reauthenticate/ of the session within this many minutes.
AUTH_REAUTH_MINUTES = env_int("AUTH_REAUTH_MINUTES", 10)
# Second-factor guessing, capped per account whatever the endpoint: this many wrong codes in a row lock
# the account's codes for MFA_LOCKOUT_MINUTES, doubled at each further lockout (at most 30 days) until a
# right code (a recovery code still works while locked): about 230 guesses a year at most.
MFA_MAX_FAILED_CODES = env_int("MFA_MAX_FAILED_CODES", 10)
MFA_LOCKOUT_MINUTES = env_int("MFA_LOCKOUT_MINUTES", 15)
# Audit events older than this are purged by `manage.py audit_purge` (run it daily from cron).
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 365)
# Cookie mode for SPAs (accounts.api.cookies, README "Integrating a SPA"): the refresh token also travels
# in an HttpOnly cookie; with AUTH_REFRESH_COOKIE_ONLY it is left out of response bodies altogether.
AUTH_REFRESH_COOKIE = env_bool("AUTH_REFRESH_COOKIE", DEBUG)  # on in development: the example SPA uses it
AUTH_REFRESH_COOKIE_ONLY = env_bool("AUTH_REFRESH_COOKIE_ONLY", False)
if AUTH_REFRESH_COOKIE_ONLY and not AUTH_REFRESH_COOKIE:
    raise ImproperlyConfigured(
        "AUTH_REFRESH_COOKIE_ONLY=1 needs AUTH_REFRESH_COOKIE=1: otherwise no client would get the refresh token"
    )

# --- Email (README "Email") ------------------------------------------------------------------------
# Console with DEBUG; files with EMAIL_FILE_PATH; otherwise SMTP, or any django-anymail provider with
# EMAIL_BACKEND=anymail.backends.<esp>.EmailBackend and its ANYMAIL_<ESP>_<SETTING> variables.
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", "").strip() or str(BASE_DIR / "var" / "mail")
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "").strip() or (
    "django.core.mail.backends.filebased.EmailBackend"
    if os.environ.get("EMAIL_FILE_PATH", "").strip()
    else "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
ANYMAIL = {
    name.removeprefix("ANYMAIL_"): value for name, value in os.environ.items() if name.startswith("ANYMAIL_")
}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "authsvc <no-reply@localhost>")
AUTH_PRODUCT_NAME = os.environ.get("AUTH_PRODUCT_NAME", "").strip() or "authsvc"  # in subjects and bodies

# --- Passkeys (WebAuthn; passkeys/) ------------------------------------------------------------------
# The relying party: the site the credentials belong to (a host name: the SPA's, or a parent domain of it)
# and the origins whose pages may run the ceremonies. Both default to FRONTEND_URL's.
WEBAUTHN_RP_ID = (
    os.environ.get("WEBAUTHN_RP_ID", "").strip() or urlsplit(FRONTEND_URL).hostname or "localhost"
).lower()
WEBAUTHN_RP_NAME = os.environ.get("WEBAUTHN_RP_NAME", "").strip() or AUTH_PRODUCT_NAME
WEBAUTHN_ORIGINS = [origin_of(origin) for origin in env_list("WEBAUTHN_ORIGINS", _frontend_origin)]
# A ceremony's time, then its challenge dies.
WEBAUTHN_CHALLENGE_SECONDS = env_int("WEBAUTHN_CHALLENGE_SECONDS", 300)
# "queue": jobs in Postgres, delivered by `manage.py procrastinate worker` with retries (production).
# "immediate": the job runs in the request and its mail goes out on commit (development, tests).
EMAIL_DELIVERY = os.environ.get("EMAIL_DELIVERY", "").strip() or ("immediate" if DEBUG else "queue")
if EMAIL_DELIVERY not in {"immediate", "queue"}:
    raise ImproperlyConfigured(f"EMAIL_DELIVERY must be 'immediate' or 'queue', not {EMAIL_DELIVERY!r}")
# Finished jobs leave the queue; failed ones stay for inspection (`manage.py procrastinate`).
PROCRASTINATE_WORKER_DEFAULTS = {"delete_jobs": "successful"}
PROCRASTINATE_ON_APP_READY = "core.jobs.on_app_ready"  # the worker polls as the runtime role too

# --- Google sign-in (social) ------------------------------------------------------------------------
GOOGLE_OAUTH_CLIENT_IDS = env_list("GOOGLE_OAUTH_CLIENT_IDS")  # the first is the web client (code flow)
GOOGLE_OAUTH_CLIENT_SECRET = os.environ.get("GOOGLE_OAUTH_CLIENT_SECRET", "")
GOOGLE_ALLOWED_HOSTED_DOMAINS = env_list("GOOGLE_ALLOWED_HOSTED_DOMAINS")  # Workspace domains; empty: any
GOOGLE_CERTS_URL = (
    os.environ.get("GOOGLE_CERTS_URL", "").strip() or "https://www.googleapis.com/oauth2/v1/certs"
)
GOOGLE_TOKEN_URL = os.environ.get("GOOGLE_TOKEN_URL", "").strip() or "https://oauth2.googleapis.com/token"
OAUTH_REDIRECT_URIS = env_list("OAUTH_REDIRECT_URIS", f"{FRONTEND_URL}/auth/google/callback")

# --- Emailed links (magiclinks) -----------------------------------------------------------------------
MAGIC_LINK_MINUTES = env_int("MAGIC_LINK_MINUTES", 15)
MAGIC_LINK_CODE_ATTEMPTS = env_int("MAGIC_LINK_CODE_ATTEMPTS", 5)  # wrong codes before the code dies
PASSWORD_RESET_MINUTES = env_int("PASSWORD_RESET_MINUTES", 60)
EMAIL_VERIFICATION_HOURS = env_int("EMAIL_VERIFICATION_HOURS", 48)
INVITATION_DAYS = env_int("INVITATION_DAYS", 7)
# Origins besides FRONTEND_URL's that a magic link's redirect_url may point at.
AUTH_REDIRECT_ALLOWED_ORIGINS = [origin.rstrip("/") for origin in env_list("AUTH_REDIRECT_ALLOWED_ORIGINS")]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "pgserver": {"level": "WARNING"},
        "procrastinate.blueprints": {"level": "WARNING"},  # one line per process start otherwise
    },
}
