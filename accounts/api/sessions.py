"""Session endpoints: ``refresh/``, ``switch-org/``, ``logout/``, ``logout-all/``, ``sessions/``."""

from __future__ import annotations

from http import HTTPStatus

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.common import PublicView, token_response
from accounts.api.cookies import RefreshCookieMixin, cookie_mode, refresh_cookie_clear
from accounts.api.outputs import TOKEN_PAIR, SignInSerializer, TokenPairSerializer, sign_in_response
from accounts.models import RevokeReason
from accounts.selectors import user_sessions
from accounts.services.sessions import (
    session_refresh,
    session_revoke,
    sessions_revoke_for_user,
    switch_org,
)
from accounts.throttles import IPRateThrottle
from accounts.tokens import decode_refresh
from core.errors import NotFound
from core.fields import StrictCharField, StrictUUIDField, validated
from core.http import RequestMeta
from core.shapes import error_response, render
from core.transactions import OutsideRequestTransaction
from tenants.api.permissions import UserOnly

_COOKIE_NOTE = " In cookie mode (`AUTH_REFRESH_COOKIE=1`) the `refresh_token` cookie stands in for it."


class RefreshInputSerializer(serializers.Serializer):
    refresh = StrictCharField(max_length=4096, help_text="Required unless in cookie mode." + _COOKIE_NOTE)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["refresh"].required = not cookie_mode()  # and the schema says so


class LogoutInputSerializer(serializers.Serializer):
    refresh = StrictCharField(
        max_length=4096,
        required=False,
        help_text="Ends its session when no Bearer token is sent." + _COOKIE_NOTE,
    )


class SwitchOrgInputSerializer(serializers.Serializer):
    org_id = StrictUUIDField()


class SessionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField()
    user_agent = serializers.CharField()
    ip = serializers.IPAddressField(allow_null=True)
    current = serializers.SerializerMethodField()

    def get_current(self, session) -> bool:
        return session.id == self.context["current_session_id"]


class RefreshView(RefreshCookieMixin, OutsideRequestTransaction, PublicView):
    """The service manages its own transactions: a detected replay must stay revoked (and recorded)
    although the response is a 401."""

    throttle_scope = "refresh"
    throttle_classes = [IPRateThrottle]

    @extend_schema(
        summary="Rotate a refresh token",
        request=RefreshInputSerializer,
        responses={
            200: TokenPairSerializer,
            401: error_response("`token_not_valid` (also on replay: the session ends)"),
            403: error_response("`origin_not_allowed`: the cookie came without an allowed `Origin`"),
            429: error_response("`throttled`"),
        },
        auth=[],
    )
    def post(self, request):
        data = validated(RefreshInputSerializer, request)
        raw = self.refresh_presented(request, data.get("refresh"), endpoint="refresh")
        if raw is None:
            raise serializers.ValidationError({"refresh": ["This field is required."]}, code="required")
        pair = session_refresh(raw_refresh=raw, meta=RequestMeta.from_request(request))
        return token_response(request, render(TOKEN_PAIR, pair), pair)


class SwitchOrgView(APIView):
    @extend_schema(
        summary="Switch the active organization",
        request=SwitchOrgInputSerializer,
        responses={
            200: SignInSerializer,
            403: error_response("`not_a_member`"),
            404: error_response("`org_not_found`"),
        },
    )
    def post(self, request):
        data = validated(SwitchOrgInputSerializer, request)
        result = switch_org(
            user=request.user,
            session_id=request.auth.session_id,
            amr=request.auth.amr,
            authenticated_at=request.auth.authenticated_at,
            org_id=data["org_id"],
            meta=RequestMeta.from_request(request),
        )
        return sign_in_response(request, result)


class LogoutView(RefreshCookieMixin, APIView):
    """Ends the Bearer token's session; without a Bearer token, the session of the refresh token in the
    body or (cookie mode) the cookie, so a SPA that lost its in-memory access token can still sign out."""

    permission_classes = [UserOnly]

    @extend_schema(
        summary="End this session",
        request=LogoutInputSerializer,
        responses={
            204: None,
            401: error_response("`not_authenticated` or `token_not_valid`"),
            403: error_response("`origin_not_allowed`: the cookie came without an allowed `Origin`"),
        },
        auth=[{"bearerAuth": []}, {"oauth2Password": []}, {}],  # or a refresh token instead
    )
    def post(self, request):
        data = validated(LogoutInputSerializer, request)
        if request.auth is not None:
            user_id, session_id = request.user.id, request.auth.session_id
        else:
            raw = self.refresh_presented(request, data.get("refresh"), endpoint="logout")
            if raw is None:
                raise exceptions.NotAuthenticated()
            claims = decode_refresh(raw)
            user_id, session_id = claims.user_id, claims.session_id
        session_revoke(user_id=user_id, session_id=session_id, reason=RevokeReason.LOGOUT)
        response = Response(status=HTTPStatus.NO_CONTENT)
        if cookie_mode():
            refresh_cookie_clear(response)
        return response


class LogoutAllView(APIView):
    @extend_schema(summary="End every session of this user", request=None, responses={204: None})
    def post(self, request):
        sessions_revoke_for_user(user_id=request.user.id, reason=RevokeReason.LOGOUT_ALL)
        response = Response(status=HTTPStatus.NO_CONTENT)
        if cookie_mode():
            refresh_cookie_clear(response)
        return response


class SessionListView(APIView):
    @extend_schema(summary="List this user's live sessions", responses={200: SessionSerializer(many=True)})
    def get(self, request):
        sessions = user_sessions(user_id=request.user.id)
        context = {"current_session_id": request.auth.session_id}
        return Response(SessionSerializer(sessions, many=True, context=context).data)


class SessionDetailView(APIView):
    @extend_schema(
        summary="Revoke one of this user's sessions",
        responses={204: None, 404: error_response("`not_found`")},
    )
    def delete(self, request, session_id):
        if not session_revoke(
            user_id=request.user.id, session_id=session_id, reason=RevokeReason.REVOKED_BY_USER
        ):
            raise NotFound("Session not found.")
        return Response(status=HTTPStatus.NO_CONTENT)
