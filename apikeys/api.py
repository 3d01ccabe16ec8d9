"""``org/api-keys/``: an org's admins create, list, revoke and roll its keys (with a Bearer token: no
key manages keys)."""

from __future__ import annotations

import uuid
from http import HTTPStatus

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apikeys import services
from apikeys.models import ApiKey
from core.fields import StrictCharField, validated
from core.shapes import error_response, validation_error_response
from tenants.api.permissions import HasActiveOrg, UserOnly, require_recent_authentication, role_may
from tenants.policy import API_KEY_SCOPES


class ApiKeySerializer(serializers.ModelSerializer):
    prefix = serializers.CharField(read_only=True)
    active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "prefix",
            "scopes",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "active",
        ]


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(help_text="The key itself: shown once, here only.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]


def created_body(key: ApiKey, full: str) -> dict:
    return {**ApiKeySerializer(key).data, "key": full}


class ScopesField(serializers.ListField):
    """A list of scopes whose errors are a flat list of messages (API.md's ``{"field": ["message", ...]}``),
    not DRF's ``{"<index>": [...]}`` per item, which the documented 400 shape does not allow."""

    def run_child_validation(self, data):
        try:
            return super().run_child_validation(data)
        except serializers.ValidationError as exc:
            detail = exc.detail
            messages = [m for ms in detail.values() for m in ms] if isinstance(detail, dict) else detail
            raise serializers.ValidationError(messages) from exc


class ApiKeyCreateInputSerializer(serializers.Serializer):
    name = StrictCharField(max_length=100)
    scopes = ScopesField(
        child=serializers.ChoiceField(choices=API_KEY_SCOPES),
        required=False,
        max_length=len(API_KEY_SCOPES) * 2,
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)

    def validate_expires_at(self, value):
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("The expiry must lie in the future.")
        return value


class ApiKeyRollInputSerializer(serializers.Serializer):
    expires_in_hours = serializers.IntegerField(min_value=0, max_value=720, default=24)


def _org_admin(action: str) -> list:
    return [IsAuthenticated, UserOnly, HasActiveOrg, role_may("api_keys", action)]


class ApiKeysView(APIView):
    def get_permissions(self):
        return [
            permission() for permission in _org_admin("read" if self.request.method == "GET" else "write")
        ]

    @extend_schema(
        summary="The organization's API keys (never a secret)", responses={200: ApiKeySerializer(many=True)}
    )
    def get(self, request):
        keys = ApiKey.objects.filter(org_id=request.auth.org.id).order_by("-created_at", "id")
        return Response(ApiKeySerializer(keys, many=True).data)

    @extend_schema(
        summary="Create an API key (the key is in this response only)",
        request=ApiKeyCreateInputSerializer,
        responses={
            201: ApiKeyCreatedSerializer,
            400: validation_error_response("An unknown scope"),
            403: error_response("`insufficient_role`, `api_key_not_allowed`, `reauthentication_required`"),
        },
    )
    def post(self, request):
        data = validated(ApiKeyCreateInputSerializer, request)
        require_recent_authentication(request)
        key, full = services.api_key_create(
            org_id=request.auth.org.id,
            name=data["name"],
            scopes=data.get("scopes"),
            expires_at=data.get("expires_at"),
            created_by_id=request.user.pk,
        )
        return Response(created_body(key, full), status=HTTPStatus.CREATED)


class ApiKeyDetailView(APIView):
    def get_permissions(self):
        return [permission() for permission in _org_admin("write")]

    @extend_schema(
        summary="Revoke a key (refused from its next request)",
        responses={204: None, 404: error_response("`api_key_not_found`")},
    )
    def delete(self, request, key_id: uuid.UUID):
        services.api_key_revoke(org_id=request.auth.org.id, key_id=key_id)
        return Response(status=HTTPStatus.NO_CONTENT)


class ApiKeyRollView(APIView):
    def get_permissions(self):
        return [permission() for permission in _org_admin("write")]

    @extend_schema(
        summary="Roll a key: a new one with the same name and scopes; the old works for expires_in_hours more",
        request=ApiKeyRollInputSerializer,
        responses={
            201: ApiKeyCreatedSerializer,
            400: validation_error_response("expires_in_hours not an integer in 0-720"),
            403: error_response("`reauthentication_required`"),
            404: error_response("`api_key_not_found`"),
        },
    )
    def post(self, request, key_id: uuid.UUID):
        hours = validated(ApiKeyRollInputSerializer, request)["expires_in_hours"]
        require_recent_authentication(request)
        key, full = services.api_key_roll(
            org_id=request.auth.org.id, key_id=key_id, expires_in_hours=hours, created_by_id=request.user.pk
        )
        return Response(created_body(key, full), status=HTTPStatus.CREATED)
