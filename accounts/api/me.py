"""``me/``: the signed-in user, their current org, role and permissions, and all their orgs."""

from __future__ import annotations

from dataclasses import dataclass

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.services.users import user_update
from core.fields import StrictCharField, validated
from core.shapes import render
from tenants.api.serializers import OrganizationMembershipSerializer
from tenants.models import Membership
from tenants.policy import role_level, role_permissions
from tenants.selectors import user_memberships


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
    org = OrganizationMembershipSerializer(source="membership", allow_null=True)
    role = serializers.CharField(allow_null=True)
    role_level = serializers.IntegerField()
    permissions = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    organizations = OrganizationMembershipSerializer(source="memberships", many=True)


class MeUpdateInputSerializer(serializers.Serializer):
    first_name = StrictCharField(max_length=150, required=False, allow_blank=True)
    last_name = StrictCharField(max_length=150, required=False, allow_blank=True)


ME = MeSerializer()


class MeView(APIView):
    def _body(self, request) -> dict:
        me = Me(
            user=request.user,
            membership=request.auth.membership,
            memberships=user_memberships(user_id=request.user.id),
        )
        return render(ME, me)

    @extend_schema(
        summary="The signed-in user, their org, role and permissions", responses={200: MeSerializer}
    )
    def get(self, request):
        return Response(self._body(request))

    @extend_schema(summary="Update names", request=MeUpdateInputSerializer, responses={200: MeSerializer})
    def patch(self, request):
        user_update(user=request.user, **validated(MeUpdateInputSerializer, request))
        return Response(self._body(request))
