"""OpenAPI description of Warden's bearer authentication for drf-spectacular."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class WardenTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.WardenTokenAuthentication"
    name = "wardenBearer"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A Warden access token (typ at+jwt) from /api/auth/token or /login.",
        }
