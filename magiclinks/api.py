"""Endpoints of the emailed links: magic-link sign-in, email verification, password reset.

The emailed links open the SPA (``FRONTEND_URL/auth/magic/<token>`` …); the SPA then POSTs the token
here. Only POSTs spend a token: mail scanners that fetch links (GET, HEAD) spend nothing, and
``password/reset/validate/`` only reads.

The public "send me a link" endpoints answer the same status and body whatever the address: the job
(``magiclinks.tasks``) decides out of sight whether a mail goes out.
"""

from __future__ import annotations

from dataclasses import asdict
from http import HTTPStatus

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.common import NEW_PASSWORD, PublicView
from accounts.api.outputs import SIGN_IN_OR_MFA, SignInSerializer, sign_in_response
from accounts.authentication import BearerAuthentication
from accounts.models import normalize_email
from accounts.throttles import AccountRateThrottle, IPRateThrottle
from core.email import debug_links_shown
from core.fields import StrictCharField, StrictEmailField, validated
from core.http import RequestMeta
from core.jobs import job_start
from core.openapi import token_query_parameter
from core.shapes import error_response, validation_error_response
from core.transactions import OutsideRequestTransaction
from magiclinks import services, tasks

TOKEN = {"max_length": 128}  # ours are 43 characters; anything else is simply unknown
SIGN_IN_LINK_SENT = "If the address can sign in, a link has been sent."
RESET_LINK_SENT = "If the email exists, a reset link has been sent."


class LinkSentSerializer(serializers.Serializer):
    detail = serializers.CharField()
    debug_link = serializers.URLField(required=False, help_text="Only with DEBUG on, when a link was sent.")


def link_sent(detail: str, link: str | None, status: int) -> Response:
    """The answer of an endpoint that emails a link, with the link as ``debug_link`` when one was sent,
    the job ran in the request, and :func:`core.email.debug_links_shown`."""
    body = {"detail": detail}
    if link and debug_links_shown():
        body["debug_link"] = link
    return Response(body, status=status)


def request_meta(request) -> dict:
    return asdict(RequestMeta.from_request(request))


# --- Magic links -----------------------------------------------------------------------------------


class MagicLinkRequestInputSerializer(serializers.Serializer):
    email = StrictEmailField(max_length=254)
    redirect_url = StrictCharField(max_length=2048, required=False, allow_null=True, allow_blank=False)

    def validate_redirect_url(self, value: str | None) -> str | None:
        if value is not None and not services.redirect_url_allowed(value):
            raise serializers.ValidationError(
                "Not an allowed redirect URL: it must be under FRONTEND_URL or on an allowed origin."
            )
        return value


class MagicLinkVerifyInputSerializer(serializers.Serializer):
    token = StrictCharField(required=False, **TOKEN)
    email = StrictEmailField(max_length=254, required=False)
    code = StrictCharField(
        required=False, validators=[RegexValidator(r"^[0-9]{6}\Z", "Enter the 6-digit code from the email.")]
    )

    def validate(self, data: dict) -> dict:
        if "token" in data and ("email" in data or "code" in data):
            raise serializers.ValidationError("Send either token, or email and code; not both.")
        if "token" not in data and not ("email" in data and "code" in data):
            raise serializers.ValidationError("Send token, or email and code.")
        return data


class MagicLinkRequestView(PublicView):
    throttle_scope = "magic_link"

    @extend_schema(
        summary="Email a sign-in link and code",
        request=MagicLinkRequestInputSerializer,
        responses={
            202: LinkSentSerializer,
            400: validation_error_response("Malformed email, or a redirect_url that is not allowed"),
            429: error_response("`throttled`"),
        },
        auth=[],
    )
    def post(self, request):
        data = validated(MagicLinkRequestInputSerializer, request)
        link = job_start(
            tasks.send_sign_in_link,
            email=normalize_email(data["email"]),
            redirect_url=data.get("redirect_url"),
            meta=request_meta(request),
        )
        return link_sent(SIGN_IN_LINK_SENT, link, HTTPStatus.ACCEPTED)


class MagicLinkVerifyView(OutsideRequestTransaction, PublicView):
    """Runs outside the request transaction: a wrong code must count although the answer is 400."""

    throttle_scope = "magic_link_verify"

    @extend_schema(
        summary="Sign in with an emailed link's token, or with the address and its code",
        request=MagicLinkVerifyInputSerializer,
        responses={
            200: SIGN_IN_OR_MFA,
            201: SignInSerializer,
            400: validation_error_response("`token_invalid` (unknown, used, expired or replaced)"),
            429: error_response("`throttled`"),
        },
        auth=[],
    )
    def post(self, request):
        data = validated(MagicLinkVerifyInputSerializer, request)
        meta = RequestMeta.from_request(request)
        if "token" in data:
            result = services.magic_link_sign_in(token=data["token"], meta=meta)
        else:
            result = services.magic_link_code_sign_in(email=data["email"], code=data["code"], meta=meta)
        return sign_in_response(request, result)


# --- Email verification --------------------------------------------------------------------------


class TokenInputSerializer(serializers.Serializer):
    token = StrictCharField(**TOKEN)


class EmailVerifiedSerializer(serializers.Serializer):
    email_verified = serializers.BooleanField()
    account_claimed = serializers.BooleanField(
        help_text=(
            "True when the link was opened outside a session of the account while it was unverified: "
            "the address's owner claimed it, and its password, sessions, passkeys, linked accounts and MFA "
            "were removed (sign in with a magic link)."
        )
    )


class EmailVerifyRequestView(APIView):
    throttle_classes = [IPRateThrottle, AccountRateThrottle]
    throttle_scope = "email_verify_request"

    @extend_schema(
        summary="Email a fresh verification link to the signed-in user",
        request=None,
        responses={202: LinkSentSerializer, 429: error_response("`throttled`")},
    )
    def post(self, request):
        if request.user.email_verified:
            return link_sent("The address is already verified.", None, HTTPStatus.ACCEPTED)
        link = job_start(
            tasks.send_email_verification_link, user_id=str(request.user.pk), meta=request_meta(request)
        )
        return link_sent("A verification link has been sent.", link, HTTPStatus.ACCEPTED)


class EmailVerifyView(PublicView):
    """Public, or with a Bearer token of the account (then nothing but the flag changes)."""

    authentication_classes = [BearerAuthentication]
    throttle_scope = "email_verify"

    @extend_schema(
        summary=(
            "Verify the address with the emailed link's token (send the account's Bearer token: opened "
            "without it, an unverified account is claimed)"
        ),
        request=TokenInputSerializer,
        responses={
            200: EmailVerifiedSerializer,
            400: validation_error_response("`token_invalid` (unknown, used, expired or replaced)"),
            429: error_response("`throttled`"),
        },
    )
    def post(self, request):
        claimed = services.email_verify(
            token=validated(TokenInputSerializer, request)["token"],
            session_user_id=request.user.pk if request.auth is not None else None,
        )
        return Response({"email_verified": True, "account_claimed": claimed})


# --- Password reset ------------------------------------------------------------------------------


class PasswordForgotInputSerializer(serializers.Serializer):
    email = StrictEmailField(max_length=254)


class PasswordResetInputSerializer(serializers.Serializer):
    token = StrictCharField(**TOKEN)
    new_password = StrictCharField(**NEW_PASSWORD)


class PasswordResetValidSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    email = serializers.EmailField()


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class PasswordForgotView(PublicView):
    throttle_scope = "password_forgot"

    @extend_schema(
        summary="Email a password-reset link",
        request=PasswordForgotInputSerializer,
        responses={
            200: LinkSentSerializer,
            400: validation_error_response("Malformed email"),
            429: error_response("`throttled`"),
        },
        auth=[],
    )
    def post(self, request):
        data = validated(PasswordForgotInputSerializer, request)
        link = job_start(
            tasks.send_password_reset_link, email=normalize_email(data["email"]), meta=request_meta(request)
        )
        return link_sent(RESET_LINK_SENT, link, HTTPStatus.OK)


class PasswordResetValidateView(PublicView):
    throttle_scope = "password_reset"

    @extend_schema(
        summary="Check a reset link before asking for the new password (spends nothing)",
        parameters=[token_query_parameter()],
        responses={
            200: PasswordResetValidSerializer,
            400: validation_error_response("`token_invalid` (used, expired, or the password changed since)"),
            404: error_response("`token_not_found`"),
            429: error_response("`throttled`"),
        },
        auth=[],
    )
    def get(self, request):
        token = validated(TokenInputSerializer, request, query=True)["token"]
        return Response({"valid": True, "email": services.password_reset_validate(token=token)})


class PasswordResetView(PublicView):
    throttle_scope = "password_reset"

    @extend_schema(
        summary="Set a new password with a reset link; every session of the user ends",
        request=PasswordResetInputSerializer,
        responses={
            200: DetailSerializer,
            400: validation_error_response(
                "`token_invalid` (unknown, used, expired), or a weak new_password"
            ),
            429: error_response("`throttled`"),
        },
        auth=[],
    )
    def post(self, request):
        data = validated(PasswordResetInputSerializer, request)
        services.password_reset(token=data["token"], new_password=data["new_password"])
        return Response({"detail": "Your password has been set. Sign in with it."})
