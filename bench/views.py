"""Baseline endpoints for ``bench/run.py``: mounted under ``/bench/`` only with ``AUTHSVC_BENCH=1``.

Each one is the stock version of something ``/api/auth/`` does, so the benchmark can compare against
it in the same run, on the same server, middleware and database:

* ``django/``  a bare Django ``JsonResponse`` view (the ceiling of this stack);
* ``drf/``     a bare DRF ``APIView`` (no authentication, no permission);
* ``simplejwt/`` stock SimpleJWT ``JWTAuthentication`` + ``IsAuthenticated`` (fetches the user by id);
* ``simplejwt/refresh/`` stock ``TokenRefreshView`` with rotation and blacklisting on;
* ``simplejwt/mint/`` mints stock refresh tokens (``RefreshToken.for_user``) for that baseline;
* ``raw/``     a DRF view doing one indexed query of its own (an org by slug): what an API-key request
  is held against (the key lookup, its digest and the tenant context are one round trip too);
* ``members/`` a plain DRF ``ListAPIView`` of an org's members (``?org=<id>``): no authentication, no
  permission, DRF's ``LimitOffsetPagination`` (a count and a page), the same serializer and rows as
  ``org/members/``. Forced RLS needs the org set, so it calls ``activate_org`` (sent with ``BEGIN``, as the
  service's authentication sends it); it is the only database context the list has;
* ``bearer/``  diagnostic, not a baseline: the service's own ``BearerAuthentication`` behind the same
  view as ``simplejwt/``, so authentication (with the tenant context) compares with stock on its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.contrib.auth import get_user_model
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenRefreshView

from accounts.authentication import BearerAuthentication
from accounts.models import normalize_email
from tenants.api.serializers import MemberSerializer
from tenants.models import Membership
from tenants.rls.context import activate_org

MAX_MINT = 1000

# SimpleJWT reads these from its global ``api_settings``; the service itself never uses SimpleJWT's
# rotation, so the benchmark turns them on around the stock serializer only.
_STOCK_ROTATION = {"ROTATE_REFRESH_TOKENS": True, "BLACKLIST_AFTER_ROTATION": True}


@contextmanager
def _stock_rotation() -> Iterator[None]:
    saved = {name: getattr(api_settings, name) for name in _STOCK_ROTATION}
    for name, value in _STOCK_ROTATION.items():
        setattr(api_settings, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(api_settings, name, value)


def django_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


class DRFView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request):
        return Response({"ok": True})


class RawQueryView(APIView):
    """``GET ?slug=`` → one indexed query (``tenants_organization.slug``), no authentication."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, name FROM tenants_organization WHERE slug = %s", [request.GET.get("slug", "")]
            )
            row = cursor.fetchone()
        return Response({"id": str(row[0]) if row else None, "name": row[1] if row else None})


class MembersPagination(LimitOffsetPagination):
    default_limit = 100  # as org/members/


class MembersView(ListAPIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    serializer_class = MemberSerializer
    pagination_class = MembersPagination

    def get_queryset(self):
        org_id = self.request.GET.get("org", "")
        activate_org(org_id)  # forced RLS needs the org; with BEGIN, as the service's authentication
        members = Membership.objects.filter(org_id=org_id, is_active=True).select_related("user")
        return members.order_by("joined_at", "id")


class SimpleJWTView(APIView):
    authentication_classes = [JWTAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({"id": str(request.user.id)})


class BearerView(SimpleJWTView):
    authentication_classes = [BearerAuthentication]


class StockRotationRefreshSerializer(TokenRefreshSerializer):
    """SimpleJWT's own ``validate`` (blacklist check, user check, blacklist, new OutstandingToken)."""

    def validate(self, attrs):
        with _stock_rotation():
            return super().validate(attrs)


class StockRefreshView(TokenRefreshView):
    serializer_class = StockRotationRefreshSerializer


class MintView(APIView):
    """POST ``{"email": ..., "count": n}`` → ``{"refresh": [n stock refresh tokens]}``."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def post(self, request):
        try:
            count = int(request.data.get("count", 1))
        except (TypeError, ValueError) as exc:
            raise ValidationError({"count": "an integer"}) from exc
        if not 1 <= count <= MAX_MINT:
            raise ValidationError({"count": f"1..{MAX_MINT}"})
        email = normalize_email(str(request.data.get("email", "")))
        user = get_object_or_404(get_user_model(), email=email)
        return Response({"refresh": [str(RefreshToken.for_user(user)) for _ in range(count)]})
