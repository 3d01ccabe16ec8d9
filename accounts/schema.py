"""OpenAPI description of our authentication (drf-spectacular extension)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.BearerAuthentication"
    name = ["bearerAuth", "oauth2Password"]

    def get_security_requirement(self, auto_schema):
        return [{"bearerAuth": []}, {"oauth2Password": []}]  # either one, not both

    def get_security_definition(self, auto_schema):
        # Two ways to the same Bearer token in Swagger UI's Authorize dialog: paste an access token,
        # or let Swagger run the OAuth2 password grant against token/.
        return [
            {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            {
                "type": "oauth2",
                "flows": {"password": {"tokenUrl": "/api/auth/token/", "scopes": {}}},
            },
        ]
