"""``password/change/``: a signed-in user changes their password and carries on with a fresh pair.

(Forgotten passwords are reset through an emailed link: ``magiclinks``.)
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from accounts.api.common import NEW_PASSWORD, PASSWORD
from accounts.api.outputs import SIGN_IN_OR_MFA, sign_in_response
from accounts.services.users import password_change
from accounts.throttles import AccountRateThrottle, IPRateThrottle
from core.fields import StrictCharField, validated
from core.http import RequestMeta
from core.shapes import error_response, validation_error_response
from tenants.api.permissions import require_recent_authentication


class PasswordChangeInputSerializer(serializers.Serializer):
    current_password = StrictCharField(**PASSWORD)
    new_password = StrictCharField(**NEW_PASSWORD)


class PasswordChangeView(APIView):
    throttle_classes = [IPRateThrottle, AccountRateThrottle]
    throttle_scope = "password_change"

    @extend_schema(
        summary="Change the password; every other session ends",
        request=PasswordChangeInputSerializer,
        responses={
            200: SIGN_IN_OR_MFA,
            400: validation_error_response(
                "`invalid_password` (the current password is wrong), or a field map for a weak new password"
            ),
            403: error_response("`reauthentication_required`"),
            429: error_response("`throttled`"),
        },
    )
    def post(self, request):
        data = validated(PasswordChangeInputSerializer, request)
        require_recent_authentication(request)
        result = password_change(
            user=request.user,
            membership=request.auth.membership,
            amr=request.auth.amr,
            current_password=data["current_password"],
            new_password=data["new_password"],
            meta=RequestMeta.from_request(request),
        )
        return sign_in_response(request, result)
