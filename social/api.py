"""Endpoints: ``google/`` (an ID token from Google Identity Services), ``social/`` and
``social/<provider>/`` (an authorization code, with PKCE), and ``me/identities/``."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.common import PublicView
from accounts.api.outputs import SIGN_IN_OR_MFA, SignInSerializer, sign_in_response
from accounts.services.sign_in import SignIn
from core.fields import StrictCharField, validated
from core.http import RequestMeta
from core.shapes import error_response, validation_error_response
from core.transactions import OutsideRequestTransaction
from social import services
from social.models import SocialIdentity
from social.providers import PROVIDERS, Provider, Refusal, provider_get
from tenants.api.permissions import require_recent_authentication

SIGN_IN_RESPONSES = {
    200: SIGN_IN_OR_MFA,
    201: SignInSerializer,
    403: error_response("`signup_disabled` (a new account would be needed), `account_disabled`"),
    409: error_response(
        "`account_exists`: an account has this address and the provider is not authoritative for it"
    ),
    429: error_response("`throttled`"),
    503: error_response("`provider_unavailable`: its keys or token endpoint could not be reached"),
}


class ExternalSignInView(OutsideRequestTransaction, PublicView):
    """Runs outside the request transaction so that a refusal stays in the audit log although the answer
    is an error; the sign-in itself is one transaction (``social.services.external_sign_in``)."""

    throttle_scope = "social"

    def sign_in(self, request, provider: Provider, id_token) -> SignIn:
        """``id_token()`` gives the provider's token; verify it and sign its identity in, recording a refusal."""
        meta = RequestMeta.from_request(request)
        try:
            identity = provider.verify_id_token(id_token())
            return services.external_sign_in(identity=identity, meta=meta)
        except Refusal as refusal:
            services.refusal_record(refusal, provider=provider.name, meta=meta)
            raise


class GoogleInputSerializer(serializers.Serializer):
    id_token = StrictCharField(max_length=8192)


class GoogleView(ExternalSignInView):
    @extend_schema(
        summary="Sign in with a Google ID token (Google Identity Services: One Tap or the button)",
        request=GoogleInputSerializer,
        responses={**SIGN_IN_RESPONSES, 401: error_response("`invalid_id_token`")},
        auth=[],
    )
    def post(self, request):
        token = validated(GoogleInputSerializer, request)["id_token"]
        return sign_in_response(request, self.sign_in(request, provider_get("google"), lambda: token))


@extend_schema_field({"type": "string", "enum": sorted(PROVIDERS)})
class ProviderField(StrictCharField):
    """A provider's name: any string is taken, an unknown one answers 400 ``unknown_provider``."""


class CodeInputSerializer(serializers.Serializer):
    provider = ProviderField(max_length=32, required=False)
    code = StrictCharField(max_length=2048)
    redirect_uri = StrictCharField(max_length=2048)
    code_verifier = StrictCharField(  # RFC 7636 §4.1
        required=False,
        validators=[
            RegexValidator(
                r"^[A-Za-z0-9._~-]{43,128}\Z", "A PKCE code_verifier: 43-128 of A-Z a-z 0-9 . _ ~ -."
            )
        ],
    )

    def validate_redirect_uri(self, value: str) -> str:
        if value not in settings.OAUTH_REDIRECT_URIS:
            raise serializers.ValidationError("Not an allowed redirect URI (OAUTH_REDIRECT_URIS).")
        return value


CODE_RESPONSES = {
    **SIGN_IN_RESPONSES,
    400: validation_error_response(
        "`unknown_provider`, `invalid_code`, or a redirect_uri not in OAUTH_REDIRECT_URIS"
    ),
    401: error_response("`invalid_id_token` (the provider's token failed verification)"),
}


class SocialView(ExternalSignInView):
    """``social/``: the provider named in the body."""

    @extend_schema(
        summary="Sign in with a provider's authorization code (PKCE), the provider in the body",
        operation_id="auth_social_code",
        request=CodeInputSerializer,
        responses=CODE_RESPONSES,
        auth=[],
    )
    def post(self, request):
        return self.code_sign_in(request, path_provider=None)

    def code_sign_in(self, request, *, path_provider: str | None):
        if path_provider is not None:
            provider_get(path_provider)  # an unknown path is 400 before the body is even read
        data = validated(CodeInputSerializer, request)
        if path_provider is not None and data.get("provider") not in (None, path_provider):
            raise serializers.ValidationError({"provider": ["Does not match the provider in the path."]})
        provider = provider_get(path_provider or data.get("provider"))

        def exchanged() -> str:
            return provider.exchange_code(
                code=data["code"], redirect_uri=data["redirect_uri"], code_verifier=data.get("code_verifier")
            )

        return sign_in_response(request, self.sign_in(request, provider, exchanged))


class SocialProviderView(SocialView):
    """``social/<provider>/``: the provider named in the path."""

    @extend_schema(
        summary="Sign in with a provider's authorization code (PKCE), the provider in the path",
        operation_id="auth_social_provider_code",
        parameters=[OpenApiParameter("provider", str, OpenApiParameter.PATH, enum=sorted(PROVIDERS))],
        request=CodeInputSerializer,
        responses=CODE_RESPONSES,
        auth=[],
    )
    def post(self, request, provider: str):
        return self.code_sign_in(request, path_provider=provider)


class IdentitySerializer(serializers.ModelSerializer):
    class Meta:
        model = SocialIdentity
        fields = ["id", "provider", "email", "created_at"]


class IdentityListView(APIView):
    @extend_schema(
        summary="The signed-in user's linked identities", responses={200: IdentitySerializer(many=True)}
    )
    def get(self, request):
        return Response(IdentitySerializer(services.identities_of(request.user), many=True).data)


class IdentityDetailView(APIView):
    @extend_schema(
        summary="Unlink an identity (not the last way to sign in)",
        responses={
            204: None,
            403: error_response("`reauthentication_required`"),
            404: error_response("`identity_not_found`"),
            409: error_response("`last_sign_in_method`"),
        },
    )
    def delete(self, request, identity_id: uuid.UUID):
        require_recent_authentication(request)
        services.identity_unlink(user=request.user, identity_id=identity_id)
        return Response(status=204)
