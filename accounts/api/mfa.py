"""Multi-factor endpoints: ``mfa/totp/setup|confirm/``, ``mfa/totp/`` (DELETE), ``mfa/verify/``,
``mfa/recovery-codes/``, ``reauthenticate/`` (API.md "Multi-factor authentication")."""

from __future__ import annotations

from http import HTTPStatus

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.common import NO_STORE, PASSWORD, PublicView
from accounts.api.outputs import SignInSerializer, sign_in_response
from accounts.services import mfa
from accounts.throttles import AccountRateThrottle, IPRateThrottle
from core.fields import StrictCharField, validated
from core.http import RequestMeta
from core.shapes import error_response, validation_error_response
from core.transactions import OutsideRequestTransaction
from tenants.api.permissions import require_recent_authentication

CODE = {"max_length": 16, "help_text": "The 6-digit code of the authenticator app."}
RECOVERY_CODE = {"max_length": 64, "help_text": "One of the recovery codes (each works once)."}


class TotpSetupSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="Base32, for apps that can't scan the QR code.")
    otpauth_url = serializers.CharField()
    qr_svg = serializers.CharField(help_text="The otpauth URL as a QR code (SVG).")


class RecoveryCodesSerializer(serializers.Serializer):
    recovery_codes = serializers.ListField(
        child=serializers.CharField(), help_text="Shown once: keep them safe."
    )


class TotpCodeInputSerializer(serializers.Serializer):
    code = StrictCharField(**CODE)


class SecondFactorInputSerializer(serializers.Serializer):
    """A TOTP code or a recovery code: exactly one."""

    code = StrictCharField(required=False, **CODE)
    recovery_code = StrictCharField(required=False, **RECOVERY_CODE)

    def validate(self, attrs):
        if bool(attrs.get("code")) == bool(attrs.get("recovery_code")):
            raise serializers.ValidationError({"code": ["Send either code or recovery_code."]})
        return attrs


class MfaVerifyInputSerializer(SecondFactorInputSerializer):
    mfa_token = StrictCharField(max_length=128)


class ProofInputSerializer(serializers.Serializer):
    """The password, a TOTP code or a recovery code: exactly one."""

    password = StrictCharField(required=False, **PASSWORD)
    code = StrictCharField(required=False, **CODE)
    recovery_code = StrictCharField(required=False, **RECOVERY_CODE)

    def validate(self, attrs):
        if sum(bool(attrs.get(name)) for name in ("password", "code", "recovery_code")) != 1:
            raise serializers.ValidationError({"password": ["Send one of password, code or recovery_code."]})
        return attrs


class ReauthenticatedSerializer(serializers.Serializer):
    reauthenticated_at = serializers.DateTimeField()


class TotpSetupView(APIView):
    @extend_schema(
        summary="Start enrolling an authenticator app (not active until confirmed)",
        request=None,
        responses={
            200: TotpSetupSerializer,
            400: error_response("`email_unverified`: verify the address first"),
            403: error_response("`reauthentication_required`"),
            409: error_response("`mfa_already_enabled`"),
        },
    )
    def post(self, request):
        require_recent_authentication(request)
        proposal = mfa.totp_setup(request.user)
        body = {"secret": proposal.secret, "otpauth_url": proposal.otpauth_url, "qr_svg": proposal.qr_svg}
        return Response(body, headers=NO_STORE)


class TotpConfirmView(APIView):
    throttle_classes = [IPRateThrottle, AccountRateThrottle]
    throttle_scope = "reauthenticate"

    @extend_schema(
        summary="Confirm the authenticator with a code: MFA is on; the recovery codes, shown once",
        request=TotpCodeInputSerializer,
        responses={
            200: RecoveryCodesSerializer,
            400: validation_error_response("`invalid_code`, `mfa_not_set_up`, or a field map"),
            409: error_response("`mfa_already_enabled`"),
        },
    )
    def post(self, request):
        code = validated(TotpCodeInputSerializer, request)["code"]
        codes = mfa.totp_confirm(
            user=request.user, session_id=request.auth.session_id, session_amr=request.auth.amr, code=code
        )
        return Response({"recovery_codes": codes}, headers=NO_STORE)


class TotpView(APIView):
    throttle_classes = [IPRateThrottle, AccountRateThrottle]
    throttle_scope = "reauthenticate"

    @extend_schema(
        summary="Turn MFA off (with a current code, a recovery code or the password)",
        request=ProofInputSerializer,
        responses={
            204: None,
            400: validation_error_response("`invalid_code`, `mfa_not_enabled`, or a field map"),
            429: error_response("`throttled`, `mfa_locked` (too many wrong codes in a row; a recovery code works)"),
        },
    )
    def delete(self, request):
        data = validated(ProofInputSerializer, request)
        mfa.totp_disable(
            user=request.user,
            code=data.get("code"),
            recovery_code=data.get("recovery_code"),
            password=data.get("password"),
        )
        return Response(status=HTTPStatus.NO_CONTENT)


class MfaVerifyView(OutsideRequestTransaction, PublicView):
    """The second step of a sign-in. Runs outside the request transaction: a wrong code's count (and its
    audit event) must stay although the answer is a 400."""

    throttle_scope = "mfa_verify"
    throttle_classes = [IPRateThrottle]

    @extend_schema(
        summary="Finish a sign-in with a second factor",
        request=MfaVerifyInputSerializer,
        responses={
            200: SignInSerializer,
            400: validation_error_response("`invalid_code`, or a field map"),
            401: error_response("`mfa_token_invalid` (expired, used, attempts exhausted)"),
            429: error_response(
                "`throttled` (per network, and wrong codes per account), `mfa_locked` (too many wrong codes "
                "in a row; a recovery code works)"
            ),
        },
        auth=[],
    )
    def post(self, request):
        data = validated(MfaVerifyInputSerializer, request)
        result = mfa.challenge_complete(
            token=data["mfa_token"],
            code=data.get("code"),
            recovery_code=data.get("recovery_code"),
            meta=RequestMeta.from_request(request),
        )
        return sign_in_response(request, result)


class RecoveryCodesView(APIView):
    @extend_schema(
        summary="New recovery codes (the old set dies)",
        request=None,
        responses={
            200: RecoveryCodesSerializer,
            400: error_response("`mfa_not_enabled`"),
            403: error_response("`reauthentication_required`"),
        },
    )
    def post(self, request):
        require_recent_authentication(request)
        return Response({"recovery_codes": mfa.recovery_codes_regenerate(request.user)}, headers=NO_STORE)


class ReauthenticateView(APIView):
    throttle_classes = [IPRateThrottle, AccountRateThrottle]
    throttle_scope = "reauthenticate"

    @extend_schema(
        summary="Prove it is you again (step-up for sensitive actions)",
        request=ProofInputSerializer,
        responses={
            200: ReauthenticatedSerializer,
            400: validation_error_response(
                "`invalid_password`, `invalid_code`, `mfa_not_enabled`, or a field map"
            ),
            429: error_response("`throttled`, `mfa_locked` (too many wrong codes in a row)"),
        },
    )
    def post(self, request):
        data = validated(ProofInputSerializer, request)
        at = mfa.reauthenticate(
            user=request.user,
            session_id=request.auth.session_id,
            password=data.get("password"),
            code=data.get("code"),
            recovery_code=data.get("recovery_code"),
        )
        return Response({"reauthenticated_at": at})
