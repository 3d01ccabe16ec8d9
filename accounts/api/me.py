"""``me/``: the signed-in user, their current org, role and permissions, and all their orgs."""

from __future__ import annotations

from dataclasses import dataclass

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.services.users import user_update
from core.fields import StrictCharField, validated
from core.shapes import render
from tenants.api.permissions import UserOnly
from tenants.api.serializers import OrganizationMembershipSerializer
from tenants.models import Membership
from tenants.policy import role_level, role_permissions
from tenants.selectors import caller_memberships


@dataclass(frozen=True)
class Me:
    """What ``me/`` shows: the user, the membership the session acts in, and every membership."""

    user: User
    membership: Membership | None
    memberships: list[Membership]

    @property
    def role(self) -> str | None:
        return self.membership.role if self.membership else None

    @property
    def role_level(self) -> int:
        return role_level(self.role)

    @property
    def permissions(self) -> dict[str, list[str]]:
        return role_permissions(self.role)


class MeSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="user.id")
    email = serializers.EmailField(source="user.email")
    first_name = serializers.CharField(source="user.first_name")
    last_name = serializers.CharField(source="user.last_name")
    email_verified = serializers.BooleanField(source="user.email_verified")
    mfa_enabled = serializers.BooleanField(source="user.mfa_enabled")
    org = OrganizationMembershipSerializer(source="membership", allow_null=True)
    role = serializers.CharField(allow_null=True)
    role_level = serializers.IntegerField()
    permissions = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    organizations = OrganizationMembershipSerializer(source="memberships", many=True)


class MeUpdateInputSerializer(serializers.Serializer):
    first_name = StrictCharField(max_length=150, required=False, allow_blank=True)
    last_name = StrictCharField(max_length=150, required=False, allow_blank=True)


ME = MeSerializer()


class KeyOrgSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    slug = serializers.CharField()


class KeySummarySerializer(serializers.Serializer):
    id = serializers.UUIDField(source="api_key_id")
    name = serializers.CharField()
    prefix = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())


class MeKeySerializer(serializers.Serializer):
    """``me/`` for an API key: no user, the key's org and the key."""

    user = serializers.JSONField(allow_null=True, default=None, help_text="Always null: a key is nobody.")
    org = KeyOrgSerializer()
    api_key = KeySummarySerializer()


ME_KEY = MeKeySerializer()


class MeView(APIView):
    permission_classes = [IsAuthenticated]  # GET also for an API key; PATCH users only (get_permissions)
    principal_memberships = ("GET", "PATCH")  # read with the principal (accounts.authentication)

    def get_permissions(self):
        permissions = super().get_permissions()
        return [*permissions, UserOnly()] if self.request.method == "PATCH" else permissions

    def _body(self, request) -> dict:
        me = Me(
            user=request.user, membership=request.auth.membership, memberships=caller_memberships(request)
        )
        return render(ME, me)

    @extend_schema(
        summary="The signed-in user, their org, role and permissions (an API key: its org and itself)",
        responses={200: PolymorphicProxySerializer("MeResponse", [MeSerializer, MeKeySerializer], None)},
    )
    def get(self, request):
        principal = request.auth
        if getattr(principal, "api_key_id", None) is not None:
            return Response(render(ME_KEY, {"user": None, "org": principal.org, "api_key": principal}))
        return Response(self._body(request))

    @extend_schema(summary="Update names", request=MeUpdateInputSerializer, responses={200: MeSerializer})
    def patch(self, request):
        user_update(user=request.user, **validated(MeUpdateInputSerializer, request))
        return Response(self._body(request))
