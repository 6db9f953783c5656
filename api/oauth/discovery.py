"""The keys and metadata clients discover Warden by: JWKS and RFC 8414 / OpenID metadata."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import tokens
from accounts.flows import exchange


class JwksApi(APIView):
    authentication_classes = ()
    permission_classes = ()

    @extend_schema(responses=inline_serializer("Jwks", {"keys": serializers.ListField()}))
    def get(self, request):
        # From the process's key ring, no query: a key is published before it signs (see
        # KeyRing), so a JWKS up to one reload interval old still lists every signing key.
        return Response(
            {"keys": tokens.keyring.jwks()},
            headers={"Cache-Control": "public, max-age=60"},
        )


class DiscoveryApi(APIView):
    """OpenID Provider / RFC 8414 authorization server metadata."""

    authentication_classes = ()
    permission_classes = ()

    @extend_schema(
        responses=inline_serializer("ServerMetadata", {"issuer": serializers.URLField()})
    )
    def get(self, request):
        base = settings.WARDEN_ISSUER.rstrip("/")
        client_auth = ["client_secret_basic", "client_secret_post", "private_key_jwt"]
        return Response(
            {
                "issuer": settings.WARDEN_ISSUER,
                "token_endpoint": base + reverse("api:token"),
                "jwks_uri": base + reverse("jwks"),
                "introspection_endpoint": base + reverse("api:introspect"),
                "revocation_endpoint": base + reverse("api:revoke"),
                "userinfo_endpoint": base + reverse("api:me"),
                # Only what is served: no authorization endpoint yet, so no response types
                # and no ID tokens.
                "grant_types_supported": [
                    "password",
                    "refresh_token",
                    "client_credentials",
                    exchange.GRANT_TYPE,
                ],
                "response_types_supported": [],
                "token_endpoint_auth_methods_supported": client_auth,
                "introspection_endpoint_auth_methods_supported": client_auth,
                "revocation_endpoint_auth_methods_supported": [*client_auth, "none"],
                # private_key_jwt assertions are checked against the client's own key.
                "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
                "subject_types_supported": ["public"],
                "claims_supported": [
                    "sub",
                    "email",
                    "roles",
                    "sid",
                    "client_id",
                    "scope",
                    "act",
                    "iss",
                    "aud",
                    "exp",
                    "iat",
                    "jti",
                ],
                "service_documentation": base + reverse("docs"),
            },
            headers={"Cache-Control": "public, max-age=300"},
        )
