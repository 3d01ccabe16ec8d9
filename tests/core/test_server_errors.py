"""Programming errors never put their internal message in a 500 body (API and Django paths alike)."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.db import transaction
from django.test import Client
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ApplicationError
from tenants.rls.context import activate_org

GENERIC = {"detail": "Internal server error.", "code": "server_error"}


class TenantContextOutsideTransaction(APIView):
    """A bug: sets the tenant context where no transaction is open."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @classmethod
    def as_view(cls, **initkwargs):
        return transaction.non_atomic_requests(super().as_view(**initkwargs))

    def get(self, request):
        activate_org(None)
        return Response({})


class Failing5xxApiError(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request):
        error = ApplicationError("secret internals: table tenants_membership, role authsvc_app")
        error.status_code = 503
        raise error


urlpatterns = [
    path("api/bug/", TenantContextOutsideTransaction.as_view()),
    path("api/bug-5xx/", Failing5xxApiError.as_view()),
]
handler500 = "config.views.server_error"


@pytest.mark.urls(__name__)
@pytest.mark.django_db(transaction=True)  # no test transaction around the request: the bug must show
def test_tenant_context_error_answers_a_generic_500(settings):
    settings.DEBUG = False
    client = Client(raise_request_exception=False)

    response = client.get("/api/bug/")

    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert response.json() == GENERIC
    assert b"transaction" not in response.content


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_an_api_error_with_a_5xx_status_hides_its_message():
    response = Client().get("/api/bug-5xx/")

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json() == GENERIC
