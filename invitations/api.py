"""Endpoints: ``org/invitations/`` (admins of the current org) and ``invitations/validate|accept/``
(the invitee, with the emailed token)."""

from __future__ import annotations

import uuid
from http import HTTPStatus

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.common import NEW_PASSWORD, PublicView
from accounts.api.outputs import SIGN_IN_OR_MFA, SignInSerializer, sign_in_response
from accounts.authentication import BearerAuthentication
from accounts.throttles import EmailRateThrottle, OrgRateThrottle
from core.email import debug_links_shown
from core.fields import QuerySerializer, StrictCharField, StrictEmailField, validated
from core.http import RequestMeta
from core.jobs import job_start
from core.openapi import token_query_parameter
from core.shapes import error_response, validation_error_response
from core.transactions import OutsideRequestTransaction
from invitations import services
from invitations.models import Invitation, InvitationStatus
from invitations.tasks import inviter_name, send_invitation
from tenants.api.permissions import HasActiveOrg, recently_authenticated, role_may
from tenants.policy import MembershipRole


class InvitationSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=InvitationStatus.choices, read_only=True)
    debug_link = serializers.URLField(required=False, help_text="Only with DEBUG on, when the link was sent.")

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "status", "created_at", "expires_at", "debug_link"]


def invitation_body(invitation: Invitation, link: str | None = None) -> dict:
    body = InvitationSerializer(invitation).data
    if link and debug_links_shown():
        body["debug_link"] = link
    return body


def _send(invitation: Invitation) -> str | None:
    """Start the email job (its link comes back when it ran in the request)."""
    return job_start(send_invitation, invitation_id=str(invitation.pk), org_id=str(invitation.org_id))


class InvitationCreateInputSerializer(serializers.Serializer):
    email = StrictEmailField(max_length=254)
    role = serializers.ChoiceField(choices=MembershipRole.choices, default=MembershipRole.MEMBER)


class InvitationQuerySerializer(QuerySerializer):
    status = serializers.MultipleChoiceField(choices=InvitationStatus.choices, required=False)


class OrgInvitationsView(APIView):
    permission_classes = [IsAuthenticated, HasActiveOrg]
    throttle_scope = "invitation_send"  # creating sends mail: per org, and per invited address

    def get_throttles(self):
        return [OrgRateThrottle(), EmailRateThrottle()] if self.request.method == "POST" else []

    def get_permissions(self):
        action = "read" if self.request.method == "GET" else "write"
        return [*super().get_permissions(), role_may("invitations", action)()]

    @extend_schema(
        summary="The organization's invitations (newest first)",
        parameters=[InvitationQuerySerializer],
        responses={
            200: InvitationSerializer(many=True),
            400: validation_error_response("An unknown status"),
            403: error_response("`insufficient_role`"),
        },
    )
    def get(self, request):
        statuses = validated(InvitationQuerySerializer, request, query=True).get("status", ())
        invitations = services.invitations_of(org_id=request.auth.org.id, statuses=statuses)
        return Response(InvitationSerializer(invitations, many=True).data)

    @extend_schema(
        summary="Invite someone (emailed a link to FRONTEND_URL/invite/<token>)",
        request=InvitationCreateInputSerializer,
        responses={
            201: InvitationSerializer,
            403: error_response(
                "`insufficient_role` (a role above your own), `reauthentication_required` (`admin` or `owner`)"
            ),
            409: error_response("`already_member`, `invitation_pending`"),
            429: error_response("`throttled`"),
        },
    )
    def post(self, request):
        data = validated(InvitationCreateInputSerializer, request)
        invitation = services.invitation_create(
            actor=request.auth.membership,
            email=data["email"],
            role=data["role"],
            recently_authenticated=recently_authenticated(request),
            api_key_id=getattr(request.auth, "api_key_id", None),  # made by a key: no user inviter
        )
        return Response(invitation_body(invitation, _send(invitation)), status=HTTPStatus.CREATED)


class OrgInvitationDetailView(APIView):
    permission_classes = [IsAuthenticated, HasActiveOrg, role_may("invitations", "write")]

    @extend_schema(
        summary="Revoke an invitation (its link dies)",
        responses={
            204: None,
            404: error_response("`invitation_not_found`"),
            409: error_response("`invitation_closed`"),
        },
    )
    def delete(self, request, invitation_id: uuid.UUID):
        services.invitation_revoke(actor=request.auth.membership, invitation_id=invitation_id)
        return Response(status=HTTPStatus.NO_CONTENT)


class OrgInvitationResendView(APIView):
    permission_classes = [IsAuthenticated, HasActiveOrg, role_may("invitations", "write")]
    throttle_classes = [OrgRateThrottle]
    throttle_scope = "invitation_send"

    @extend_schema(
        summary="Send the invitation again with a new link and expiry (the old link dies)",
        request=None,
        responses={
            200: InvitationSerializer,
            403: error_response(
                "`insufficient_role` (an invitation above your own role), `reauthentication_required` "
                "(`admin` or `owner`)"
            ),
            404: error_response("`invitation_not_found`"),
            409: error_response("`invitation_closed`"),
            429: error_response("`throttled`"),
        },
    )
    def post(self, request, invitation_id: uuid.UUID):
        invitation = services.invitation_resend(
            actor=request.auth.membership,
            invitation_id=invitation_id,
            recently_authenticated=recently_authenticated(request),
        )
        return Response(invitation_body(invitation, _send(invitation)))


# --- The invitee -------------------------------------------------------------------------------------


class InvitationOrganizationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class InvitationValidSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    email = serializers.EmailField()
    organization = InvitationOrganizationSerializer()
    invited_by = serializers.CharField()
    role = serializers.ChoiceField(choices=MembershipRole.choices)


class TokenQuerySerializer(QuerySerializer):
    token = StrictCharField(max_length=128)


class InvitationValidateView(OutsideRequestTransaction, PublicView):
    """Outside the request transaction: presenting a used, revoked or expired token is recorded although
    the answer is 400."""

    throttle_scope = "invitation"

    @extend_schema(
        summary="Check an invitation's token before accepting (spends nothing)",
        parameters=[token_query_parameter()],
        responses={
            200: InvitationValidSerializer,
            400: validation_error_response("`invitation_invalid` (expired, used or revoked)"),
            404: error_response("`invitation_not_found`"),
            429: error_response("`throttled`"),
        },
        auth=[],
    )
    def get(self, request):
        token = validated(TokenQuerySerializer, request, query=True)["token"]
        try:
            invitation = services.invitation_validate(token=token)
        except services.InvitationInvalid as refused:
            services.invitation_refused_record(refused.invitation, via="validate")
            raise
        return Response(
            {
                "valid": True,
                "email": invitation.email,
                "organization": {"id": invitation.org.id, "name": invitation.org.name},
                "invited_by": inviter_name(invitation),
                "role": invitation.role,
            }
        )


class InvitationAcceptInputSerializer(serializers.Serializer):
    token = StrictCharField(max_length=128)
    password = StrictCharField(required=False, **NEW_PASSWORD)
    first_name = StrictCharField(max_length=150, required=False, allow_blank=True, default="")
    last_name = StrictCharField(max_length=150, required=False, allow_blank=True, default="")


class InvitationAcceptView(PublicView):
    """Public, or with the invitee's Bearer token (an existing account)."""

    authentication_classes = [BearerAuthentication]
    permission_classes = [AllowAny]
    throttle_scope = "invitation"

    @extend_schema(
        summary="Accept an invitation: a new account (password) or, with a Bearer token, an existing one",
        request=InvitationAcceptInputSerializer,
        responses={
            200: SIGN_IN_OR_MFA,
            201: SignInSerializer,
            400: validation_error_response(
                "`invitation_invalid` (expired, used, revoked), or a weak password"
            ),
            403: error_response("`wrong_account`: signed in as another address (the invitation stays valid)"),
            404: error_response("`invitation_not_found`"),
            409: error_response(
                "`account_exists`: the address has an account; sign in and send its Bearer token"
            ),
            429: error_response("`throttled`"),
        },
    )
    def post(self, request):
        data = validated(InvitationAcceptInputSerializer, request)
        principal = request.auth
        result = services.invitation_accept(
            token=data["token"],
            bearer=request.user if principal is not None else None,
            bearer_amr=principal.amr if principal is not None else (),
            password=data.get("password"),
            first_name=data["first_name"],
            last_name=data["last_name"],
            meta=RequestMeta.from_request(request),
        )
        return sign_in_response(request, result)
