"""What every surface of the API shares: the caller, bearer tokens, no-store answers, schemas."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.audit import Caller
from accounts.flows.login import LoginResult
from accounts.flows.mfa import MfaChallenge

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def caller_of(request) -> Caller:
    return Caller.of(request)


def bearer_token(request) -> str | None:
    """The token of an `Authorization: Bearer ...` header, or None."""
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


class NoStoreApi(APIView):
    """Responses that may carry a token are never cached by anyone; errors in OAuth's shape."""

    authentication_classes = ()
    permission_classes = ()
    oauth_errors = True

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        for key, value in NO_STORE.items():
            response[key] = value
        return response


def login_response(result: LoginResult) -> Response:
    """Tokens answer 200; a sign-in that needs its second step answers 401 with what it needs."""
    if isinstance(result, MfaChallenge):
        return Response(result.body(), status=401)
    return Response(result)


# --- Schemas of the answers ---------------------------------------------------------------------


def _oauth_error(name: str, *codes: str):
    """The RFC 6749 §5.2 error body; `codes` pins the `error` values when given."""
    error = serializers.ChoiceField(list(codes)) if codes else serializers.CharField()
    return inline_serializer(
        name,
        {"error": error, "error_description": serializers.CharField(required=bool(codes))},
    )


OAuthError = _oauth_error("OAuthError")
TokenOutput = inline_serializer(
    "TokenResponse",
    {
        "access_token": serializers.CharField(),
        "token_type": serializers.CharField(),
        "expires_in": serializers.IntegerField(),
        "refresh_token": serializers.CharField(required=False),
        "scope": serializers.CharField(required=False),
        "id_token": serializers.CharField(required=False, help_text="OpenID grants, `openid`"),
    },
)
TOKEN_ERRORS = {
    400: OpenApiResponse(OAuthError, "invalid_request, invalid_grant, invalid_scope, ..."),
    401: OpenApiResponse(OAuthError, "invalid_client, or mfa_required"),
    429: OpenApiResponse(OAuthError, "rate_limited, with Retry-After"),
}
MfaChallengeOutput = inline_serializer(
    "MfaChallenge",
    {
        "error": serializers.ChoiceField(["mfa_required"]),
        "error_description": serializers.CharField(),
        "mfa_token": serializers.CharField(),
        "methods": serializers.ListField(child=serializers.ChoiceField(["totp", "recovery_codes"])),
    },
)
LOGIN_ERRORS = {
    **TOKEN_ERRORS,
    401: OpenApiResponse(MfaChallengeOutput, "mfa_required: answer with POST /api/auth/login/mfa"),
    403: OpenApiResponse(OAuthError, "mfa_setup_required: the role requires a second factor"),
}
InvalidClient = _oauth_error("InvalidClient", "invalid_client")
# The token endpoint authenticates clients too, so its 401 is one of two disjoint shapes.
GRANT_ERRORS = {
    **LOGIN_ERRORS,
    401: OpenApiResponse(
        PolymorphicProxySerializer(
            component_name="TokenUnauthorized",
            serializers=[InvalidClient, MfaChallengeOutput],
            resource_type_field_name=None,
        ),
        "invalid_client, or mfa_required for the password grant",
    ),
}
