"""``GET org/audit-log/``: the current org's security events, newest first (admins and owners).

What an org sees is decided by row-level security alone (migration ``tenants.0003``): its own events,
and the user-level events (no org of their own: a failed sign-in, a refresh replay) of its active
members. The view adds no org filter of its own.
"""

from __future__ import annotations

import uuid

from django.db.models import Q
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import IsAuthenticated

from core.fields import QuerySerializer, StrictUUIDField
from core.shapes import error_response, validation_error_response
from tenants.api.permissions import HasActiveOrg, role_may
from tenants.audit import AuditEventType
from tenants.models import AuditEvent


class AuditLogQuerySerializer(QuerySerializer):
    type = serializers.MultipleChoiceField(
        choices=AuditEventType.choices,
        required=False,
        help_text="One or more event types (repeat the parameter).",
    )
    actor = StrictUUIDField(required=False, help_text="The acting user's id.")
    subject = serializers.CharField(
        required=False, max_length=64, help_text="The subject: a user id, or a session, org or membership id."
    )
    since = serializers.DateTimeField(required=False, help_text="Events at or after this time (ISO 8601).")
    until = serializers.DateTimeField(required=False, help_text="Events before this time (ISO 8601).")


class AuditActorSerializer(serializers.Serializer):
    type = serializers.SerializerMethodField()
    id = serializers.SerializerMethodField()
    email = serializers.EmailField(source="actor_user.email", allow_null=True, default=None)

    def get_type(self, event: AuditEvent) -> str | None:
        if event.actor_user_id:
            return "user"
        return "api_key" if event.actor_api_key_id else None

    def get_id(self, event: AuditEvent) -> str | None:
        actor = event.actor_user_id or event.actor_api_key_id
        return str(actor) if actor else None


class AuditUserSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()


class AuditSubjectSerializer(serializers.Serializer):
    type = serializers.CharField(source="subject_type", allow_blank=True)
    id = serializers.CharField(source="subject_id", allow_blank=True)
    user = AuditUserSerializer(source="subject_user", allow_null=True)


class AuditEventSerializer(serializers.Serializer):
    """Who did what to whom, when, from where."""

    id = serializers.UUIDField()
    occurred_at = serializers.DateTimeField()
    type = serializers.CharField()
    org_id = serializers.UUIDField(allow_null=True)
    actor = AuditActorSerializer(source="*")
    subject = AuditSubjectSerializer(source="*")
    ip = serializers.IPAddressField(allow_null=True)
    user_agent = serializers.CharField()
    details = serializers.SerializerMethodField()

    @extend_schema_field(serializers.DictField())
    def get_details(self, event: AuditEvent) -> dict:
        """A user-level event (about the user, shown in each org they belong to) never shows another
        org: details naming an org (``org_id``, ``session_org_id``) are left out unless it is this one."""
        if event.org_id is not None:
            return event.details
        own = str(self.context["request"].auth.org.id)
        return {
            key: value
            for key, value in event.details.items()
            if not (key == "org_id" or key.endswith("_org_id")) or value in (None, own)
        }


class AuditLogPagination(CursorPagination):
    """Cursor pagination: a page stays the same while new events arrive (they sort before it)."""

    ordering = "-occurred_at"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request) -> int:
        # DRF would quietly ignore a page_size that is not a positive integer: say so instead.
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        # ASCII digits only: str.isdigit() admits "²" (int() fails: a 500) and other scripts' digits.
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= self.max_page_size:
            raise serializers.ValidationError({"page_size": [f"An integer from 1 to {self.max_page_size}."]})
        return int(raw)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters


class AuditLogView(ListAPIView):
    permission_classes = [IsAuthenticated, HasActiveOrg, role_may("audit", "read")]
    serializer_class = AuditEventSerializer
    pagination_class = AuditLogPagination

    def get_queryset(self):
        query = AuditLogQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return _filtered(
            AuditEvent.objects.select_related("actor_user", "subject_user"), query.validated_data
        )

    @extend_schema(
        summary="The organization's audit log (admins and owners)",
        parameters=[AuditLogQuerySerializer],
        responses={
            200: AuditEventSerializer(many=True),
            400: validation_error_response("A filter that is not valid (unknown type, malformed id or time)"),
            403: error_response("`no_active_org` or `insufficient_role`"),
            404: error_response("`not_found`: the cursor is not one this endpoint gave out"),
        },
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


def _filtered(events, filters: dict):
    """Narrow the (RLS-scoped) events by the query's filters."""
    if filters.get("type"):
        events = events.filter(type__in=sorted(filters["type"]))
    if filters.get("actor"):
        events = events.filter(actor_user_id=filters["actor"])
    if filters.get("subject"):
        subject = filters["subject"]
        condition = Q(subject_id=subject)
        try:
            condition |= Q(subject_user_id=uuid.UUID(subject))
        except ValueError:
            pass  # not a user id: a session, org or membership id only
        events = events.filter(condition)
    if filters.get("since"):
        events = events.filter(occurred_at__gte=filters["since"])
    if filters.get("until"):
        events = events.filter(occurred_at__lt=filters["until"])
    return events
