"""``GET /.well-known/jwks.json``: the public keys that verify our tokens (RFC 7517), for other services."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

# Long enough to spare us a fetch per verification, short enough that a rotated-in key is picked up soon
# (clients such as PyJWT's PyJWKClient also fetch again when they meet an unknown kid).
JWKS_MAX_AGE = 300

_JWK_SET = inline_serializer(
    "JwkSet",
    {
        "keys": serializers.ListField(
            child=serializers.DictField(),
            help_text="The current signing key first, then the previous ones still verifying; empty with HS256.",
        )
    },
)


class JwksView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Public signing keys (JWK Set)",
        responses={200: OpenApiResponse(_JWK_SET, description='`{"keys": [JWK, ...]}`')},
        auth=[],
        tags=["keys"],
    )
    def get(self, request):
        return Response(
            settings.JWT_KEYRING.jwks(), headers={"Cache-Control": f"public, max-age={JWKS_MAX_AGE}"}
        )
