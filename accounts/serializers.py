"""Request and response shapes of the accounts API (also what the OpenAPI schema shows)."""

from __future__ import annotations

from rest_framework import serializers

from tenants.models import ROLE_LEVELS, Profile

PERMISSIONS_BY_ROLE: dict[str, dict[str, list[str]]] = {
    "owner": {
        "organization": ["read", "write", "delete"],
        "members": ["read", "write"],
        "invitations": ["read", "write"],
        "api_keys": ["read", "write"],
        "audit": ["read"],
    },
    "admin": {
        "organization": ["read", "write"],
        "members": ["read", "write"],
        "invitations": ["read", "write"],
        "api_keys": ["read", "write"],
        "audit": ["read"],
    },
    "member": {"organization": ["read"], "members": ["read"]},
}


# --- Output ------------------------------------------------------------------------------------------


class UserSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()


class MembershipSerializer(serializers.Serializer):
    """An org as seen by one of its members: ``{id, name, slug, role}``."""

    id = serializers.UUIDField(source="org.id")
    name = serializers.CharField(source="org.name")
    slug = serializers.CharField(source="org.slug")
    role = serializers.CharField()


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    expires_in = serializers.IntegerField()


class SignInSerializer(TokenPairSerializer):
    user = UserSummarySerializer()
    organizations = MembershipSerializer(many=True)
    org = MembershipSerializer(allow_null=True)


# The bodies below are built as plain dicts: they sit on the hottest paths (every sign-in, every
# me/), where DRF serializer instances cost more than the database work. The serializer classes
# above describe the same shapes for the OpenAPI schema; tests assert the bodies field by field.


def user_body(user) -> dict:
    return {
        "id": str(user.id),
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
    }


def membership_body(profile: Profile) -> dict:
    org = profile.org
    return {"id": str(org.id), "name": org.name, "slug": org.slug, "role": profile.role}


def sign_in_body(result) -> dict:
    """The token-pair response body (API.md "The token pair")."""
    return {
        "access": result.pair.access,
        "refresh": result.pair.refresh,
        "expires_in": result.pair.expires_in,
        "user": user_body(result.user),
        "organizations": [membership_body(profile) for profile in result.memberships],
        "org": membership_body(result.profile) if result.profile else None,
    }


class MeSerializer(UserSummarySerializer):
    org = MembershipSerializer(allow_null=True)
    role = serializers.CharField(allow_null=True)
    role_level = serializers.IntegerField()
    permissions = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    organizations = MembershipSerializer(many=True)


def me_body(*, user, profile: Profile | None, memberships: list[Profile]) -> dict:
    role = profile.role if profile else None
    return {
        **user_body(user),
        "org": membership_body(profile) if profile else None,
        "role": role,
        "role_level": ROLE_LEVELS.get(role, 0) if role else 0,
        "permissions": PERMISSIONS_BY_ROLE.get(role, {}) if role else {},
        "organizations": [membership_body(membership) for membership in memberships],
    }


class SessionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField()
    user_agent = serializers.CharField()
    ip = serializers.IPAddressField(allow_null=True)
    current = serializers.SerializerMethodField()

    def get_current(self, session) -> bool:
        return session.id == self.context["current_session_id"]


class MemberSerializer(serializers.Serializer):
    profile_id = serializers.UUIDField(source="id")
    user = UserSummarySerializer()
    role = serializers.CharField()
    joined_at = serializers.DateTimeField()


class OAuthTokenSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    token_type = serializers.CharField()
    expires_in = serializers.IntegerField()
    refresh_token = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()


# --- Input -------------------------------------------------------------------------------------------

# Passwords are validated by Django's validators (length 8-128 included) in the services; the field
# itself only refuses absurd sizes so the hasher never sees megabytes.
_password = {"trim_whitespace": False, "max_length": 1024}


class RegisterInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(**_password)
    organization_name = serializers.CharField(max_length=200)
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")


class LoginInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(**_password)
    org = serializers.CharField(max_length=220, required=False, allow_null=True, allow_blank=False)


class OAuthPasswordInputSerializer(serializers.Serializer):
    grant_type = serializers.CharField()
    username = serializers.CharField(max_length=254)
    password = serializers.CharField(**_password)


class RefreshInputSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096)


class LogoutInputSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096, required=False)


class StrictUUIDField(serializers.UUIDField):
    """A UUID given as a string: DRF's UUIDField would also take an integer (uuid.UUID(int=...))."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class SwitchOrgInputSerializer(serializers.Serializer):
    org_id = StrictUUIDField()


class MeUpdateInputSerializer(serializers.Serializer):
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)


class OrganizationCreateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
