from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularSwaggerSplitView

from accounts.api.jwks import JwksView
from accounts.throttles import IPRateThrottle
from config import example, views
from core.openapi_view import CachedSchemaView

urlpatterns = [
    path("", views.index, name="index"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path(".well-known/jwks.json", JwksView.as_view(), name="jwks"),
    path("admin/", admin.site.urls),
    path("api/auth/", include("accounts.api.urls")),
    path("api/auth/", include("tenants.api.urls")),
    path("api/auth/", include("magiclinks.urls")),
    path("api/auth/", include("social.urls")),
    path("api/auth/", include("invitations.urls")),
    path("api/auth/", include("apikeys.urls")),
    path("api/auth/", include("passkeys.urls")),
    # The reference SPA (examples/spa/): with DEBUG only, a 404 otherwise.
    path("example/", example.example, name="example"),
    re_path(r"^example/(?P<path>.+)$", example.example),
    # Built once per process, throttled per client network ("schema" in AUTH_THROTTLE_RATES).
    path("api/schema/", CachedSchemaView.as_view(throttle_classes=[IPRateThrottle]), name="schema"),
    # Swagger UI under the CSP (README "Security"): the split view serves its start-up script as a file
    # (?script=), and core's template its page style; no inline script or style.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="core/swagger_ui.html"),
        name="docs",
    ),
]

# Anything else under /api/ is a JSON 404, with DEBUG on too (Django would show its HTML debug page).
# Only paths ending in "/": one without it is served as the path with it (core.middleware.
# ApiOptionalSlashMiddleware), so /api/docs is the docs and an unknown /api/x gets this 404, no redirect.
# Any method: a 404, not a CSRF 403. Any character, newlines included, and \Z: "$" would also match
# before a final newline.
urlpatterns += [re_path(r"^api/(?:[\s\S]*/)?\Z", csrf_exempt(views.not_found))]

if settings.BENCH:  # baseline endpoints for bench/run.py; never enabled in production
    urlpatterns += [path("bench/", include("bench.urls"))]

handler404 = "config.views.not_found"
handler400 = "config.views.bad_request"
handler500 = "config.views.server_error"
