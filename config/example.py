"""The reference SPA (``examples/spa/``, README "Integrating a SPA") at ``/example/``, with DEBUG only.

Its files as they are, and for every other path under ``/example/`` its page, so the SPA's own routes
(``/example/auth/magic/<token>``, ``/example/invite/<token>``, …: the links in emails, see
``FRONTEND_URL``) open it. The page names the Google client id of the code flow, when one is configured,
in a ``<meta>`` tag: that is the SPA's whole configuration.
"""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe
from django.views.static import serve

FOLDER = Path(settings.BASE_DIR) / "examples" / "spa"
ASSET = re.compile(r"[a-z0-9-]+\.(?:js|css|svg)")
GOOGLE_CLIENT_META = '<meta name="authsvc-google-client-id" content="">'


def _page() -> str:
    client_ids = settings.GOOGLE_OAUTH_CLIENT_IDS
    meta = (
        GOOGLE_CLIENT_META.replace('""', f'"{escape(client_ids[0])}"') if client_ids else GOOGLE_CLIENT_META
    )
    return (FOLDER / "index.html").read_text().replace(GOOGLE_CLIENT_META, meta)


@transaction.non_atomic_requests  # no database work
def example(request: HttpRequest, path: str = "") -> HttpResponse:
    if not settings.DEBUG:
        raise Http404  # whatever the method: production has no such page
    return _example(request, path)


@require_safe
def _example(request: HttpRequest, path: str) -> HttpResponse:
    if ASSET.fullmatch(path):
        response = serve(request, path, document_root=FOLDER)  # 404 for a file that isn't there
    else:
        response = HttpResponse(_page())
    response["Cache-Control"] = "no-cache"  # an edited file shows on the next load
    return response
