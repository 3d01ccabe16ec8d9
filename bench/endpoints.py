"""What is measured: the endpoints of one round, in the order they run (interleaved within a round)."""

from __future__ import annotations

import json

from bench.load import Target
from bench.seed import Seed


def round_targets(seed: Seed) -> list[Target]:
    """The targets of one round, with a fresh access token (15 min lifetime) for the authenticated ones.

    The token is org-scoped: each seeded user has one organization. The refresh targets draw unspent
    tokens from ``seed`` per measurement; login signs in as the first seeded user.
    """
    bearer = {"Authorization": f"Bearer {seed.login()['access']}"}
    owner = {"Authorization": f"Bearer {seed.login(seed.emails[0])['access']}"}  # of the org with members
    json_headers = {"Content-Type": "application/json"}
    login_body = json.dumps({"email": seed.emails[0], "password": seed.password})
    api_key, slug = seed.api_key()
    return [
        Target("django", "bare Django `JsonResponse` `GET /bench/django/`", "GET", "/bench/django/"),
        Target("drf", "bare DRF `APIView` `GET /bench/drf/`", "GET", "/bench/drf/"),
        Target("simplejwt", "stock SimpleJWT `GET /bench/simplejwt/`", "GET", "/bench/simplejwt/", bearer),
        Target("me", "ours `GET /api/auth/me/`", "GET", "/api/auth/me/", bearer),
        Target(
            "raw", "a DRF view with one indexed query `GET /bench/raw/`", "GET", f"/bench/raw/?slug={slug}"
        ),
        Target(
            "key_me",
            "ours `GET /api/auth/me/` with `X-API-Key`",
            "GET",
            "/api/auth/me/",
            {"X-API-Key": api_key},
        ),
        Target(
            "drf_members",
            "plain DRF list of the same members, no auth `GET /bench/members/`",
            "GET",
            f"/bench/members/?org={seed.members_org}",
        ),
        Target("members", "ours `GET /api/auth/org/members/`", "GET", "/api/auth/org/members/", owner),
        Target(
            "bearer",
            "diagnostic: ours `BearerAuthentication` on the `simplejwt/` view `GET /bench/bearer/`",
            "GET",
            "/bench/bearer/",
            bearer,
        ),
        Target(
            "stock_refresh",
            "stock SimpleJWT rotation+blacklist `POST /bench/simplejwt/refresh/`",
            "POST",
            "/bench/simplejwt/refresh/",
            json_headers,
            chains=seed.stock_refresh_tokens,
        ),
        Target(
            "refresh",
            "ours rotation `POST /api/auth/refresh/`",
            "POST",
            "/api/auth/refresh/",
            json_headers,
            chains=seed.our_refresh_tokens,
        ),
        Target(
            "login",
            "ours password login `POST /api/auth/login/`",
            "POST",
            "/api/auth/login/",
            json_headers,
            login_body,
        ),
    ]
