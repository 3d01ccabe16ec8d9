"""Sign-in endpoints: ``register/``, ``login/`` and the OAuth2 password grant ``token/``."""

from __future__ import annotations

from http import HTTPStatus

from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser
from rest_framework.response import Response

from accounts.api.common import (
    NEW_PASSWORD,
    PASSWORD,
    PasswordSignInView,
    PublicView,
    token_response,
)
from accounts.api.outputs import SIGN_IN_OR_MFA, SignInSerializer, sign_in_response
from accounts.services.mfa import second_factor_required
from accounts.services.passwords import InvalidCredentials, user_authenticate
from accounts.services.registration import signup_require_allowed, user_register
from accounts.services.sign_in import sign_in
from core.fields import StrictCharField, StrictEmailField, validated
from core.http import RequestMeta
from core.shapes import ErrorSerializer, error_response, validation_error_response
from tenants.api.serializers import OrganizationNameField


class RegisterInputSerializer(serializers.Serializer):
    email = StrictEmailField(max_length=254)
    password = StrictCharField(**NEW_PASSWORD)
    organization_name = OrganizationNameField()
    first_name = StrictCharField(max_length=150, required=False, allow_blank=True, default="")
    last_name = StrictCharField(max_length=150, required=False, allow_blank=True, default="")


class LoginInputSerializer(serializers.Serializer):
    email = StrictEmailField(max_length=254)
    password = StrictCharField(**PASSWORD)
    org = StrictCharField(max_length=220, required=False, allow_null=True, allow_blank=False)


class OAuthPasswordInputSerializer(serializers.Serializer):
    grant_type = serializers.ChoiceField(choices=["password"])  # the view answers other grants first
    username = StrictCharField(max_length=254)
    password = StrictCharField(**PASSWORD)


class OAuthTokenSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    token_type = serializers.CharField()
    expires_in = serializers.IntegerField()
    refresh_token = serializers.CharField()


class OAuthErrorSerializer(serializers.Serializer):
    """RFC 6749 §5.2."""

    error = serializers.ChoiceField(choices=["invalid_request", "unsupported_grant_type", "invalid_grant"])
    error_description = serializers.CharField()


# RFC 6749's error, or ours (``bad_request``) when Django refuses the form before the view runs (more
# fields than DATA_UPLOAD_MAX_NUMBER_FIELDS).
OAUTH_BAD_REQUEST = PolymorphicProxySerializer(
    component_name="OAuthTokenError",
    serializers=[OAuthErrorSerializer, ErrorSerializer],
    resource_type_field_name=None,
)


class RegisterView(PublicView):
    throttle_scope = "register"

    @extend_schema(
        summary="Create an account and its organization",
        request=RegisterInputSerializer,
        responses={
            201: SignInSerializer,
            400: validation_error_response(
                "Invalid email, weak password (length, too common, too similar to the email or names) "
                "or organization name"
            ),
            403: error_response("`signup_disabled`"),
            409: error_response("`email_taken` or `org_slug_taken`"),
            429: error_response("`throttled`"),
        },
        auth=[],
    )
    def post(self, request):
        signup_require_allowed()
        data = validated(RegisterInputSerializer, request)
        return sign_in_response(request, user_register(**data, meta=RequestMeta.from_request(request)))


class LoginView(PasswordSignInView):
    throttle_scope = "login"

    @extend_schema(
        summary="Sign in with email and password",
        request=LoginInputSerializer,
        responses={
            200: SIGN_IN_OR_MFA,
            401: error_response("`invalid_credentials` (unknown email and wrong password alike)"),
            403: error_response("`not_a_member` of the requested org"),
            404: error_response("`org_not_found`"),
            429: error_response("`throttled`"),
        },
        auth=[],
    )
    def post(self, request):
        data = validated(LoginInputSerializer, request)
        user = user_authenticate(email=data["email"], password=data["password"])
        result = sign_in(
            user=user,
            method="password",
            amr=["pwd"],
            meta=RequestMeta.from_request(request),
            org_reference=data.get("org") or None,
        )
        return sign_in_response(request, result)


class OAuthTokenView(PasswordSignInView):
    """OAuth2 resource-owner password grant, for Swagger UI's Authorize button."""

    throttle_scope = "login"
    throttle_email_field = "username"
    parser_classes = [FormParser]

    @extend_schema(
        summary="OAuth2 password grant (form-encoded)",
        request={"application/x-www-form-urlencoded": OAuthPasswordInputSerializer},
        responses={
            200: OAuthTokenSerializer,
            400: OpenApiResponse(
                OAUTH_BAD_REQUEST,
                description='`{"error": "invalid_request" | "unsupported_grant_type" | "invalid_grant", '
                '"error_description"}`; `{"detail", "code": "bad_request"}` for a form Django refuses',
            ),
            429: error_response("`throttled`"),
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
            user = user_authenticate(email=data["username"], password=data["password"], method="oauth_token")
        except InvalidCredentials:
            return _oauth_error("invalid_grant", "Invalid username or password.")
        if second_factor_required(user, ["pwd"]):  # the grant has no second step: login/ and mfa/verify/
            return _oauth_error("invalid_grant", "mfa_required")
        meta = RequestMeta.from_request(request)
        pair = sign_in(user=user, method="oauth_token", amr=["pwd"], meta=meta).pair
        body = {
            "access_token": pair.access,
            "token_type": "bearer",
            "expires_in": pair.expires_in,
            "refresh_token": pair.refresh,
        }
        return token_response(request, body, pair, refresh_field="refresh_token")

    def sign_in_outcome(self, response: Response) -> str:
        # The right password of an MFA account, refused by the grant for its second step, is no wrong guess.
        rejected = (
            isinstance(response.data, dict)
            and response.data.get("error") == "invalid_grant"
            and response.data.get("error_description") != "mfa_required"
        )
        return "failure" if rejected else super().sign_in_outcome(response)


def _oauth_error(error: str, description: str) -> Response:
    # RFC 6749 §5.2: errors of the token endpoint are 400 with an "error" code.
    return Response({"error": error, "error_description": description}, status=HTTPStatus.BAD_REQUEST)
