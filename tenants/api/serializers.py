"""Shapes of users, organizations and members in responses, and inputs of the tenant endpoints.

Each shape is defined once (``core.shapes``); accounts' sign-in and ``me/`` bodies reuse the user and
organization shapes from here.
"""

from __future__ import annotations

import functools
import sys
import unicodedata

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from core.fields import QuerySerializer, StrictBooleanField, StrictCharField
from core.openapi import char_class, containing
from tenants.policy import MembershipRole


class UserSummarySerializer(serializers.Serializer):
    """A user as shown to themselves and to fellow members."""

    id = serializers.UUIDField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email_verified = serializers.BooleanField()


class OrganizationMembershipSerializer(serializers.Serializer):
    """An org as seen by one of its members: ``{id, name, slug, role}`` (rendered from a membership)."""

    id = serializers.UUIDField(source="org.id")
    name = serializers.CharField(source="org.name")
    slug = serializers.CharField(source="org.slug")
    role = serializers.CharField()


class MemberSerializer(serializers.Serializer):
    profile_id = serializers.UUIDField(source="id")
    user = UserSummarySerializer()
    role = serializers.CharField()
    joined_at = serializers.DateTimeField()


class OrganizationNameField(StrictCharField):
    """An organization's name. Its slug must not come out empty (``tenants.services.organization_slug``:
    400 ``invalid_name``), so it needs a character ``slugify`` keeps; the schema says which."""

    def __init__(self, **kwargs) -> None:
        super().__init__(max_length=200, **kwargs)


class OrganizationNameSchema(OpenApiSerializerFieldExtension):
    target_class = OrganizationNameField

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if direction == "request":
            schema["pattern"] = organization_name_pattern()
        return schema


@functools.cache
def organization_name_pattern() -> str:
    """Some character ``slugify`` keeps: one whose compatibility decomposition (NFKD) has an ASCII letter
    or digit (``é`` → ``e``, ``①`` → ``1``; not ``!``, ``_``, ``東``)."""
    kept = [
        chr(code)
        for code in range(sys.maxunicode + 1)
        if not 0xD800 <= code <= 0xDFFF
        and any(char.isascii() and char.isalnum() for char in unicodedata.normalize("NFKD", chr(code)))
    ]
    return containing(char_class(kept))


class OrganizationCreateInputSerializer(serializers.Serializer):
    name = OrganizationNameField()


class OrganizationUpdateInputSerializer(serializers.Serializer):
    name = OrganizationNameField(required=False)
    require_mfa = StrictBooleanField(
        required=False, help_text="Owners only, and only with MFA on for their own account."
    )


class OrganizationDeleteInputSerializer(serializers.Serializer):
    confirm = StrictCharField(
        max_length=200, trim_whitespace=False, help_text="The organization's exact name."
    )


class MemberRoleInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=MembershipRole.choices)


class MemberQuerySerializer(QuerySerializer):
    search = StrictCharField(required=False, max_length=254, help_text="Part of an email or a name.")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200, default=100)
    offset = serializers.IntegerField(required=False, min_value=0, max_value=10**9, default=0)


ORGANIZATION_MEMBERSHIP = OrganizationMembershipSerializer()
