"""Endpoints: ``passkeys/register/options/``, ``passkeys/register/``, ``passkeys/``, ``passkeys/<id>/``,
``passkeys/login/options/``, ``passkeys/login/`` (API.md "Passkeys")."""

from __future__ import annotations

import uuid
from http import HTTPStatus

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.common import NO_STORE, PublicView
from accounts.api.outputs import SignInSerializer, sign_in_response
from accounts.throttles import IPRateThrottle
from core.fields import StrictCharField, StrictEmailField, StrictUUIDField, validated
from core.http import RequestMeta
from core.shapes import error_response, validation_error_response
from core.transactions import OutsideRequestTransaction
from passkeys import services
from passkeys.models import Passkey
from tenants.api.permissions import require_recent_authentication

CREDENTIAL_HELP = "The browser's credential as JSON (`PublicKeyCredential.toJSON()`: base64url fields)."


class PasskeySerializer(serializers.ModelSerializer):
    class Meta:
        model = Passkey
        fields = ["id", "name", "created_at", "last_used_at"]


class PasskeyRegisterInputSerializer(serializers.Serializer):
    credential = serializers.DictField(help_text=CREDENTIAL_HELP)
    name = StrictCharField(max_length=64, required=False, allow_blank=True, help_text="Yours to choose.")


class PasskeyRenameInputSerializer(serializers.Serializer):
    name = StrictCharField(max_length=64)


class PasskeyLoginOptionsInputSerializer(serializers.Serializer):
    email = StrictEmailField(
        max_length=254, required=False, help_text="For an allow-list; without it, discoverable credentials."
    )


class PasskeyLoginInputSerializer(serializers.Serializer):
    challenge_id = StrictUUIDField()
    credential = serializers.DictField(help_text=CREDENTIAL_HELP)


class RegisterOptionsView(APIView):
    @extend_schema(
        summary="Start registering a passkey: PublicKeyCredentialCreationOptions (recent sign-in needed)",
        request=None,
        responses={
            200: OpenApiTypes.OBJECT,
            400: error_response("`email_unverified`"),
            403: error_response("`reauthentication_required`"),
        },
    )
    def post(self, request):
        require_recent_authentication(request)
        options = services.registration_options(user=request.user, session_id=request.auth.session_id)
        return Response(options, headers=NO_STORE)


class RegisterView(APIView):
    @extend_schema(
        summary="Finish registering a passkey: the browser's attestation response",
        request=PasskeyRegisterInputSerializer,
        responses={
            201: PasskeySerializer,
            400: validation_error_response("`passkey_invalid`, or a field map"),
        },
    )
    def post(self, request):
        data = validated(PasskeyRegisterInputSerializer, request)
        passkey = services.register(
            user=request.user,
            session_id=request.auth.session_id,
            credential=data["credential"],
            name=data.get("name", "").strip(),
        )
        return Response(PasskeySerializer(passkey).data, status=HTTPStatus.CREATED)


class PasskeyListView(APIView):
    @extend_schema(summary="The signed-in user's passkeys", responses={200: PasskeySerializer(many=True)})
    def get(self, request):
        return Response(PasskeySerializer(services.passkeys_of(request.user), many=True).data)


class PasskeyDetailView(APIView):
    @extend_schema(
        summary="Rename a passkey",
        request=PasskeyRenameInputSerializer,
        responses={200: PasskeySerializer, 404: error_response("`passkey_not_found`")},
    )
    def patch(self, request, passkey_id: uuid.UUID):
        name = validated(PasskeyRenameInputSerializer, request)["name"]
        passkey = services.rename(user=request.user, passkey_id=passkey_id, name=name)
        return Response(PasskeySerializer(passkey).data)

    @extend_schema(
        summary="Delete a passkey (not the last way to sign in)",
        responses={
            204: None,
            403: error_response("`reauthentication_required`"),
            404: error_response("`passkey_not_found`"),
            409: error_response("`last_sign_in_method`"),
        },
    )
    def delete(self, request, passkey_id: uuid.UUID):
        require_recent_authentication(request)
        services.delete(user=request.user, passkey_id=passkey_id)
        return Response(status=HTTPStatus.NO_CONTENT)


class LoginOptionsView(PublicView):
    throttle_scope = "passkey"
    throttle_classes = [IPRateThrottle]

    @extend_schema(
        summary="Start a passkey sign-in: PublicKeyCredentialRequestOptions and a challenge_id",
        request=PasskeyLoginOptionsInputSerializer,
        responses={200: OpenApiTypes.OBJECT, 429: error_response("`throttled`")},
        auth=[],
    )
    def post(self, request):
        data = validated(PasskeyLoginOptionsInputSerializer, request)
        return Response(services.login_options(email=data.get("email")), headers=NO_STORE)


class LoginView(OutsideRequestTransaction, PublicView):
    """Outside the request transaction: a refusal's audit event and the spent challenge stay."""

    throttle_scope = "passkey"
    throttle_classes = [IPRateThrottle]

    @extend_schema(
        summary="Sign in with a passkey: the browser's assertion",
        request=PasskeyLoginInputSerializer,
        responses={
            200: SignInSerializer,
            401: error_response("`passkey_invalid`"),
            429: error_response("`throttled`"),
        },
        auth=[],
    )
    def post(self, request):
        data = validated(PasskeyLoginInputSerializer, request)
        result = services.login(
            challenge_id=data["challenge_id"],
            credential=data["credential"],
            meta=RequestMeta.from_request(request),
        )
        return sign_in_response(request, result)
