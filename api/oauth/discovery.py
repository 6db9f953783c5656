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
from accounts.flows.oidc import clients as oidc_clients


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
        registration = (
            {"registration_endpoint": base + reverse("oidc:register")}
            if settings.WARDEN_OIDC_DYNAMIC_REGISTRATION
            else {}
        )
        # Exactly what is served (tests/api/test_discovery.py checks each endpoint answers).
        return Response(
            {
                "issuer": settings.WARDEN_ISSUER,
                "token_endpoint": base + reverse("api:token"),
                "jwks_uri": base + reverse("jwks"),
                "introspection_endpoint": base + reverse("api:introspect"),
                "revocation_endpoint": base + reverse("api:revoke"),
                "authorization_endpoint": base + reverse("oidc:authorize"),
                "userinfo_endpoint": base + reverse("oidc:userinfo"),
                "end_session_endpoint": base + reverse("oidc:end-session"),
                "device_authorization_endpoint": base + reverse("oidc:device-authorization"),
                "pushed_authorization_request_endpoint": base + reverse("oidc:par"),
                "require_pushed_authorization_requests": False,
                **registration,
                "grant_types_supported": [
                    "authorization_code",
                    "urn:ietf:params:oauth:grant-type:device_code",
                    "refresh_token",
                    "password",
                    "client_credentials",
                    exchange.GRANT_TYPE,
                ],
                "response_types_supported": ["code"],
                "response_modes_supported": ["query"],
                "code_challenge_methods_supported": ["S256"],
                "scopes_supported": list(oidc_clients.SCOPES),
                "prompt_values_supported": ["none", "login", "consent", "select_account"],
                "token_endpoint_auth_methods_supported": [*client_auth, "none"],
                "introspection_endpoint_auth_methods_supported": client_auth,
                "revocation_endpoint_auth_methods_supported": [*client_auth, "none"],
                # private_key_jwt assertions are checked against the client's own key.
                "token_endpoint_auth_signing_alg_values_supported": list(tokens.ALGORITHMS),
                "id_token_signing_alg_values_supported": list(tokens.ALGORITHMS),
                "subject_types_supported": ["public"],
                "claims_supported": [
                    "sub",
                    "iss",
                    "aud",
                    "exp",
                    "iat",
                    "auth_time",
                    "nonce",
                    "at_hash",
                    "amr",
                    "sid",
                    "azp",
                    "act",
                    "client_id",
                    "scope",
                    "email",
                    "email_verified",
                    "name",
                    "given_name",
                    "family_name",
                    "roles",
                ],
                "authorization_response_iss_parameter_supported": True,
                "backchannel_logout_supported": True,
                "backchannel_logout_session_supported": True,
                "request_parameter_supported": False,
                "request_uri_parameter_supported": False,
                "service_documentation": base + reverse("docs"),
            },
            headers={"Cache-Control": "public, max-age=300"},
        )
