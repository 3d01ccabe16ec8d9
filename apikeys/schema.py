"""OpenAPI description of ``X-API-Key`` authentication (drf-spectacular extension)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from tenants.api.permissions import keys_may_call


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "apikeys.authentication.ApiKeyAuthentication"
    name = "apiKeyAuth"

    def get_security_requirement(self, auto_schema):
        # Listed only where a key may call: a view that refuses keys (UserOnly: 403 api_key_not_allowed)
        # documents Bearer alone, although the key authenticates before the refusal.
        if not keys_may_call(auto_schema.view):
            return None
        return {self.name: []}

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "X-API-Key"}
