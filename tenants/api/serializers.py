"""Shapes of users, organizations and members in responses, and inputs of the tenant endpoints.

Each shape is defined once (``core.shapes``); accounts' sign-in and ``me/`` bodies reuse the user and
organization shapes from here.
"""

from __future__ import annotations

from rest_framework import serializers

from core.fields import StrictCharField


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


class OrganizationCreateInputSerializer(serializers.Serializer):
    name = StrictCharField(max_length=200)


ORGANIZATION_MEMBERSHIP = OrganizationMembershipSerializer()
