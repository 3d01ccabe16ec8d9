"""The token-pair bodies every sign-in answers with (API.md "The token pair")."""

from __future__ import annotations

from http import HTTPStatus

from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers
from rest_framework.response import Response

from accounts.api.common import NO_STORE, token_response
from accounts.services.mfa import MfaRequired
from accounts.services.sign_in import SignIn
from core.shapes import render
from tenants.api.serializers import OrganizationMembershipSerializer, UserSummarySerializer


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    expires_in = serializers.IntegerField()


class SignInSerializer(serializers.Serializer):
    """Rendered from a ``SignIn``."""

    access = serializers.CharField(source="pair.access")
    refresh = serializers.CharField(source="pair.refresh")
    expires_in = serializers.IntegerField(source="pair.expires_in")
    user = UserSummarySerializer()
    organizations = OrganizationMembershipSerializer(source="memberships", many=True)
    org = OrganizationMembershipSerializer(source="membership", allow_null=True)


class MfaRequiredSerializer(serializers.Serializer):
    """A sign-in whose second step is owed: finish it at ``mfa/verify/`` with the ``mfa_token``."""

    mfa_required = serializers.BooleanField()
    mfa_token = serializers.CharField()
    methods = serializers.ListField(child=serializers.CharField())


# What a sign-in answers: the pair, or (MFA on) the second step owed.
SIGN_IN_OR_MFA = PolymorphicProxySerializer(
    component_name="SignInOrMfaRequired",
    serializers=[SignInSerializer, MfaRequiredSerializer],
    resource_type_field_name=None,
)

TOKEN_PAIR = TokenPairSerializer()
SIGN_IN = SignInSerializer()


def sign_in_body(result: SignIn) -> dict:
    return render(SIGN_IN, result)


def sign_in_response(request, result: SignIn | MfaRequired) -> Response:
    """201 when the sign-in created the user account, else 200; never cached. A sign-in that still
    owes its second factor answers 200 ``{"mfa_required": true, "mfa_token", "methods"}``."""
    if isinstance(result, MfaRequired):
        body = {"mfa_required": True, "mfa_token": result.mfa_token, "methods": list(result.methods)}
        return Response(body, status=HTTPStatus.OK, headers=NO_STORE)
    return token_response(
        request, sign_in_body(result), result.pair, HTTPStatus.CREATED if result.created else HTTPStatus.OK
    )
