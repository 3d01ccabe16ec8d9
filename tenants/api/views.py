"""Tenant endpoints: the user's organizations (``orgs/``) and the current org's members (``org/``)."""

from __future__ import annotations

import uuid
from http import HTTPStatus
from urllib.parse import urlencode

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.fields import validated
from core.shapes import error_response, render, validation_error_response
from tenants.api.permissions import HasActiveOrg, UserOnly, require_recent_authentication, role_may
from tenants.api.serializers import (
    ORGANIZATION_MEMBERSHIP,
    MemberQuerySerializer,
    MemberRoleInputSerializer,
    MemberSerializer,
    OrganizationCreateInputSerializer,
    OrganizationDeleteInputSerializer,
    OrganizationMembershipSerializer,
    OrganizationUpdateInputSerializer,
)
from tenants.selectors import caller_memberships, organization_members
from tenants.services import (
    member_leave,
    member_remove,
    member_role_change,
    organization_create,
    organization_delete,
    organization_mfa_policy_set,
    organization_rename,
)


class OrganizationListView(APIView):
    principal_memberships = ("GET",)  # read with the principal (accounts.authentication)

    @extend_schema(
        summary="The user's organizations", responses={200: OrganizationMembershipSerializer(many=True)}
    )
    def get(self, request):
        memberships = caller_memberships(request)
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
    permission_classes = [IsAuthenticated, HasActiveOrg, role_may("members", "read")]

    @extend_schema(
        summary="Members of the current organization (a page; Link: rel=next, X-Total-Count)",
        parameters=[MemberQuerySerializer],
        responses={
            200: MemberSerializer(many=True),
            400: validation_error_response("A malformed search, limit or offset"),
            403: error_response("`no_active_org`"),
        },
    )
    def get(self, request):
        params = validated(MemberQuerySerializer, request, query=True)
        members, total = organization_members(
            org=request.auth.org,
            search=params.get("search", ""),
            limit=params["limit"],
            offset=params["offset"],
        )
        headers = {"X-Total-Count": str(total)}
        following = params["offset"] + params["limit"]
        if following < total:
            next_url = request.build_absolute_uri(
                f"{request.path}?{urlencode({**request.query_params.dict(), 'offset': following})}"
            )
            headers["Link"] = f'<{next_url}>; rel="next"'
        return Response(MemberSerializer(members, many=True).data, headers=headers)


class MemberDetailView(APIView):
    permission_classes = [IsAuthenticated, HasActiveOrg, role_may("members", "write")]

    @extend_schema(
        summary="Change a member's role",
        request=MemberRoleInputSerializer,
        responses={
            200: MemberSerializer,
            403: error_response(
                "`insufficient_role` (admins cannot touch or appoint owners), `last_owner`, "
                "`reauthentication_required`"
            ),
            404: error_response("`member_not_found`"),
        },
    )
    def patch(self, request, profile_id: uuid.UUID):
        role = validated(MemberRoleInputSerializer, request)["role"]
        require_recent_authentication(request)
        member = member_role_change(actor=request.auth.membership, membership_id=profile_id, role=role)
        return Response(MemberSerializer(member).data)

    @extend_schema(
        summary="Remove a member; their sessions in this organization end at once",
        responses={
            204: None,
            403: error_response(
                "`insufficient_role` (admins cannot remove owners), `last_owner`, `reauthentication_required`"
            ),
            404: error_response("`member_not_found`"),
        },
    )
    def delete(self, request, profile_id: uuid.UUID):
        require_recent_authentication(request)
        member_remove(actor=request.auth.membership, membership_id=profile_id)
        return Response(status=HTTPStatus.NO_CONTENT)


class OrganizationView(APIView):
    """``org/``: the current organization."""

    permission_classes = [IsAuthenticated, HasActiveOrg]

    def get_permissions(self):
        action = {"PATCH": "write", "DELETE": "delete"}.get(self.request.method, "read")
        return [*super().get_permissions(), role_may("organization", action)()]

    @extend_schema(
        summary="Rename the organization (its slug follows)",
        request=OrganizationUpdateInputSerializer,
        responses={
            200: OrganizationMembershipSerializer,
            403: error_response(
                "`insufficient_role` (`require_mfa`: owners only), `mfa_enrolment_required` (an owner without MFA "
                "turning `require_mfa` on)"
            ),
            409: error_response("`org_slug_taken`"),
        },
    )
    def patch(self, request):
        data = validated(OrganizationUpdateInputSerializer, request)
        membership = request.auth.membership
        if "require_mfa" in data:  # first: a refused policy change must not leave a rename behind
            require_recent_authentication(
                request
            )  # a security policy: step-up, as for the other sensitive actions
            organization_mfa_policy_set(org=request.auth.org, require=data["require_mfa"], actor=membership)
        if "name" in data:
            membership.org = organization_rename(org=request.auth.org, name=data["name"])
        return Response(render(ORGANIZATION_MEMBERSHIP, membership))

    @extend_schema(
        summary="Delete the organization (owner; its name repeated as `confirm`); its sessions end",
        request=OrganizationDeleteInputSerializer,
        responses={
            204: None,
            400: validation_error_response("`confirmation_mismatch`"),
            403: error_response("`insufficient_role`, `reauthentication_required`"),
        },
    )
    def delete(self, request):
        confirm = validated(OrganizationDeleteInputSerializer, request)["confirm"]
        require_recent_authentication(request)
        organization_delete(org=request.auth.org, confirm=confirm, actor_user_id=request.user.pk)
        return Response(status=HTTPStatus.NO_CONTENT)


class OrganizationLeaveView(APIView):
    permission_classes = [IsAuthenticated, UserOnly, HasActiveOrg]
    mfa_policy_exempt = True  # an org's MFA policy must not hold anyone in it

    @extend_schema(
        summary="Leave the organization; the caller's sessions in it end",
        request=None,
        responses={204: None, 403: error_response("`last_owner`, `no_active_org`")},
    )
    def post(self, request):
        member_leave(membership=request.auth.membership)
        return Response(status=HTTPStatus.NO_CONTENT)
