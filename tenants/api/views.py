"""Tenant endpoints: the user's organizations (``orgs/``) and the current org's members (``org/``)."""

from __future__ import annotations

from http import HTTPStatus

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.shapes import error_response, render
from tenants.api.permissions import HasActiveOrg
from tenants.api.serializers import (
    ORGANIZATION_MEMBERSHIP,
    MemberSerializer,
    OrganizationCreateInputSerializer,
    OrganizationMembershipSerializer,
)
from tenants.selectors import organization_members, user_memberships
from tenants.services import organization_create


class OrganizationListView(APIView):
    @extend_schema(
        summary="The user's organizations", responses={200: OrganizationMembershipSerializer(many=True)}
    )
    def get(self, request):
        memberships = user_memberships(user_id=request.user.id)
        return Response([render(ORGANIZATION_MEMBERSHIP, membership) for membership in memberships])

    @extend_schema(
        summary="Create an organization (the caller becomes its owner)",
        request=OrganizationCreateInputSerializer,
        responses={201: OrganizationMembershipSerializer, 409: error_response("`org_slug_taken`")},
    )
    def post(self, request):
        serializer = OrganizationCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        _, membership = organization_create(name=serializer.validated_data["name"], owner=request.user)
        return Response(render(ORGANIZATION_MEMBERSHIP, membership), status=HTTPStatus.CREATED)


class MemberListView(APIView):
    permission_classes = [IsAuthenticated, HasActiveOrg]

    @extend_schema(
        summary="Members of the current organization",
        responses={200: MemberSerializer(many=True), 403: error_response("`no_active_org`")},
    )
    def get(self, request):
        return Response(MemberSerializer(organization_members(org=request.auth.org), many=True).data)
