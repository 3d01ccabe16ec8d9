"""HTTP layer of sign-in, tokens, sessions and the account: parse, call one service, serialize."""

from __future__ import annotations

from http import HTTPStatus

from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.selectors import user_sessions
from accounts.serializers import (
    ErrorSerializer,
    LoginInputSerializer,
    LogoutInputSerializer,
    MemberSerializer,
    MembershipSerializer,
    MeSerializer,
    MeUpdateInputSerializer,
    OAuthPasswordInputSerializer,
    OAuthTokenSerializer,
    OrganizationCreateInputSerializer,
    RefreshInputSerializer,
    RegisterInputSerializer,
    SessionSerializer,
    SignInSerializer,
    SwitchOrgInputSerializer,
    TokenPairSerializer,
    me_body,
    membership_body,
    sign_in_body,
)
from accounts.throttles import EmailRateThrottle, IPRateThrottle
from core.errors import NotFound
from core.http import RequestMeta
from tenants.permissions import HasActiveOrg
from tenants.selectors import organization_members, user_memberships
from tenants.services import organization_create


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


def _validated(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _sign_in_response(result) -> Response:
    status = HTTPStatus.CREATED if result.created else HTTPStatus.OK
    return Response(sign_in_body(result), status=status)


class PublicView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [IPRateThrottle, EmailRateThrottle]


class RegisterView(PublicView):
    throttle_scope = "register"

    @extend_schema(
        summary="Create an account and its organization",
        request=RegisterInputSerializer,
        responses={
            201: SignInSerializer,
            400: OpenApiResponse(description="Invalid email, weak password or organization name"),
            403: _error("`signup_disabled`"),
            409: _error("`email_taken` or `org_slug_taken`"),
            429: _error("`throttled`"),
        },
        auth=[],
    )
    def post(self, request):
        services.signup_require_allowed()
        data = _validated(RegisterInputSerializer, request)
        result = services.user_register(**data, meta=RequestMeta.from_request(request))
        return _sign_in_response(result)


class LoginView(PublicView):
    throttle_scope = "login"

    @extend_schema(
        summary="Sign in with email and password",
        request=LoginInputSerializer,
        responses={
            200: SignInSerializer,
            401: _error("`invalid_credentials` (unknown email and wrong password alike)"),
            403: _error("`not_a_member` of the requested org"),
            404: _error("`org_not_found`"),
            429: _error("`throttled`"),
        },
        auth=[],
    )
    def post(self, request):
        data = _validated(LoginInputSerializer, request)
        user = services.user_authenticate(email=data["email"], password=data["password"])
        result = services.sign_in(
            user=user, meta=RequestMeta.from_request(request), org_reference=data.get("org") or None
        )
        return _sign_in_response(result)


class OAuthTokenView(PublicView):
    """OAuth2 resource-owner password grant, for Swagger UI's Authorize button."""

    throttle_scope = "login"
    parser_classes = [FormParser]

    @extend_schema(
        summary="OAuth2 password grant (form-encoded)",
        request={"application/x-www-form-urlencoded": OAuthPasswordInputSerializer},
        responses={
            200: OAuthTokenSerializer,
            400: OpenApiResponse(
                description='`{"error": "invalid_request" | "unsupported_grant_type" | "invalid_grant"}`'
            ),
        },
        auth=[],
    )
    def post(self, request):
        grant_type = request.data.get("grant_type")
        if not grant_type:
            return _oauth_error("invalid_request", "grant_type, username and password are required.")
        if grant_type != "password":
            return _oauth_error("unsupported_grant_type", "Only the password grant is supported.")
        serializer = OAuthPasswordInputSerializer(data=request.data)
        if not serializer.is_valid():
            return _oauth_error("invalid_request", "grant_type, username and password are required.")
        data = serializer.validated_data
        try:
            user = services.user_authenticate(email=data["username"], password=data["password"])
        except services.InvalidCredentials:
            return _oauth_error("invalid_grant", "Invalid username or password.")
        pair = services.sign_in(user=user, meta=RequestMeta.from_request(request)).pair
        return Response(
            {
                "access_token": pair.access,
                "token_type": "bearer",
                "expires_in": pair.expires_in,
                "refresh_token": pair.refresh,
            },
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )


def _oauth_error(error: str, description: str) -> Response:
    # RFC 6749 §5.2: errors of the token endpoint are 400 with an "error" code.
    return Response({"error": error, "error_description": description}, status=HTTPStatus.BAD_REQUEST)


class RefreshView(PublicView):
    throttle_scope = "refresh"
    throttle_classes = [IPRateThrottle]

    @classmethod
    def as_view(cls, **initkwargs):
        # The service manages its own transactions: a detected replay must stay revoked although the
        # response is a 401 (DRF would roll an ATOMIC_REQUESTS transaction back on any error).
        return transaction.non_atomic_requests(super().as_view(**initkwargs))

    @extend_schema(
        summary="Rotate a refresh token",
        request=RefreshInputSerializer,
        responses={
            200: TokenPairSerializer,
            401: _error("`token_not_valid` (also on replay: the session ends)"),
        },
        auth=[],
    )
    def post(self, request):
        data = _validated(RefreshInputSerializer, request)
        pair = services.session_refresh(raw_refresh=data["refresh"])
        return Response({"access": pair.access, "refresh": pair.refresh, "expires_in": pair.expires_in})


class SwitchOrgView(APIView):
    @extend_schema(
        summary="Switch the active organization",
        request=SwitchOrgInputSerializer,
        responses={
            200: SignInSerializer,
            401: _error("`token_not_valid`"),
            403: _error("`not_a_member`"),
            404: _error("`org_not_found`"),
        },
    )
    def post(self, request):
        data = _validated(SwitchOrgInputSerializer, request)
        result = services.switch_org(
            user=request.user,
            session_id=request.auth.session_id,
            org_id=data["org_id"],
            meta=RequestMeta.from_request(request),
        )
        return _sign_in_response(result)


class LogoutView(APIView):
    @extend_schema(
        summary="End this session",
        request=LogoutInputSerializer,
        responses={204: None, 401: _error("`token_not_valid`")},
    )
    def post(self, request):
        _validated(LogoutInputSerializer, request)
        services.session_revoke(user_id=request.user.id, session_id=request.auth.session_id, reason="logout")
        return Response(status=HTTPStatus.NO_CONTENT)


class LogoutAllView(APIView):
    @extend_schema(summary="End every session of this user", request=None, responses={204: None})
    def post(self, request):
        services.sessions_revoke_for_user(user_id=request.user.id, reason="logout_all")
        return Response(status=HTTPStatus.NO_CONTENT)


class SessionListView(APIView):
    @extend_schema(summary="List this user's live sessions", responses={200: SessionSerializer(many=True)})
    def get(self, request):
        sessions = user_sessions(user_id=request.user.id)
        context = {"current_session_id": request.auth.session_id}
        return Response(SessionSerializer(sessions, many=True, context=context).data)


class SessionDetailView(APIView):
    @extend_schema(
        summary="Revoke one of this user's sessions", responses={204: None, 404: _error("`not_found`")}
    )
    def delete(self, request, session_id):
        if not services.session_revoke(
            user_id=request.user.id, session_id=session_id, reason="revoked_by_user"
        ):
            raise NotFound("Session not found.")
        return Response(status=HTTPStatus.NO_CONTENT)


class MeView(APIView):
    def _body(self, request) -> dict:
        return me_body(
            user=request.user,
            profile=request.auth.profile,
            memberships=user_memberships(user_id=request.user.id),
        )

    @extend_schema(
        summary="The signed-in user, their org, role and permissions", responses={200: MeSerializer}
    )
    def get(self, request):
        return Response(self._body(request))

    @extend_schema(summary="Update names", request=MeUpdateInputSerializer, responses={200: MeSerializer})
    def patch(self, request):
        data = _validated(MeUpdateInputSerializer, request)
        services.user_update(user=request.user, **data)
        return Response(self._body(request))


class OrganizationListView(APIView):
    @extend_schema(summary="The user's organizations", responses={200: MembershipSerializer(many=True)})
    def get(self, request):
        return Response([membership_body(profile) for profile in user_memberships(user_id=request.user.id)])

    @extend_schema(
        summary="Create an organization (the caller becomes its owner)",
        request=OrganizationCreateInputSerializer,
        responses={201: MembershipSerializer, 409: _error("`org_slug_taken`")},
    )
    def post(self, request):
        data = _validated(OrganizationCreateInputSerializer, request)
        _, profile = organization_create(name=data["name"], owner=request.user)
        return Response(membership_body(profile), status=HTTPStatus.CREATED)


class MemberListView(APIView):
    permission_classes = [IsAuthenticated, HasActiveOrg]

    @extend_schema(
        summary="Members of the current organization",
        responses={200: MemberSerializer(many=True), 403: _error("`no_active_org`")},
    )
    def get(self, request):
        return Response(MemberSerializer(organization_members(org=request.auth.org), many=True).data)
