"""OpenAPI generation details: bearer authentication and the error answers every view can give."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

DrfError = inline_serializer("Error", {"detail": serializers.CharField()})


class WardenTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.WardenTokenAuthentication"
    name = "wardenBearer"
    definition = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A Warden access token (typ at+jwt) from /api/auth/token or /login.",
    }

    def get_security_definition(self, auto_schema):
        return self.definition


class ClientAuthScheme(WardenTokenScheme):
    target_class = "api.client_auth.ClientAuthentication"
    name = "clientBasic"
    definition = {
        "type": "http",
        "scheme": "basic",
        "description": "An OAuth client's id and secret (RFC 6749 §2.3.1), each form-encoded; "
        "or client_id and client_secret in the body.",
    }


class WardenAutoSchema(AutoSchema):
    """Adds the answers DRF gives on its own: 401/403 where a token is required, 404 for a
    page number past the end of a list."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if self.view.permission_classes:
            for status, text in (("401", "missing or invalid token"), ("403", "not allowed")):
                responses.setdefault(status, self._error(status, text))
        if getattr(self.view, "pagination_class", None) and self._is_list_view():
            responses.setdefault("404", self._error("404", "no such page"))
        return responses

    def _error(self, status: str, description: str) -> dict:
        response = self._get_response_for_code(DrfError, status)
        response["description"] = description
        return response


class PublicClientScheme(OpenApiAuthenticationExtension):
    """A public OpenID client only names itself (`client_id` in the body): no credential, so
    no security requirement; the endpoint also answers with no client at all."""

    target_class = "api.client_auth.PublicClientAuthentication"
    name = []

    def get_security_requirement(self, auto_schema):
        return {}

    def get_security_definition(self, auto_schema):
        return []


class NamedClientScheme(PublicClientScheme):
    target_class = "api.client_auth.NamedClientAuthentication"
