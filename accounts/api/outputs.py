"""The token-pair bodies every sign-in answers with (API.md "The token pair")."""

from __future__ import annotations

from http import HTTPStatus

from rest_framework import serializers
from rest_framework.response import Response

from accounts.api.common import token_response
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


TOKEN_PAIR = TokenPairSerializer()
SIGN_IN = SignInSerializer()


def sign_in_body(result: SignIn) -> dict:
    return render(SIGN_IN, result)


def sign_in_response(request, result: SignIn) -> Response:
    """201 when the sign-in created the user account, else 200; never cached."""
    return token_response(
        request, sign_in_body(result), result.pair, HTTPStatus.CREATED if result.created else HTTPStatus.OK
    )
