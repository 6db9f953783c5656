"""RFC 7662 introspection for authenticated clients, and RFC 7009 revocation (public OpenID
clients name themselves with `client_id`, as at the token endpoint)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from accounts import tokens
from accounts.flows.sessions import token_revoke
from api.client_auth import (
    ClientAuthentication,
    NamedClientAuthentication,
    client_of,
    client_required,
)
from api.common import NoStoreApi, OAuthError, caller_of
from api.inputs import Param, TokenHintInput, validated
from api.verify import ClaimsOutput, expected_audience, guessing_stopped, verify_body


class IntrospectInput(TokenHintInput):
    token = Param(required=False)
    audience = Param(
        required=False,
        max_length=255,
        help_text="The audience the token must be for (or header X-Warden-Audience); "
        "default: Warden's default audience. A token for another one is inactive.",
    )


class IntrospectApi(NoStoreApi):
    """RFC 7662 introspection for authenticated service clients."""

    authentication_classes = (ClientAuthentication,)

    @extend_schema(
        request=IntrospectInput,
        responses={200: ClaimsOutput, 400: OAuthError, 401: OAuthError, 429: OAuthError},
    )
    def post(self, request):
        client_required(request)
        data = validated(IntrospectInput, request.data)
        try:
            claims = tokens.access_token_check(
                raw=data.get("token") or "", audience=expected_audience(request, data)
            )
        except tokens.TokenInvalid:
            guessing_stopped(request)
            return Response({"active": False})
        body = {**claims, **verify_body(claims)}
        if "email" in claims:
            body["username"] = claims["email"]
        return Response(body)


class RevokeApi(NoStoreApi):
    """RFC 7009 revocation: a refresh token ends its session, an access token itself; always
    200 for bad tokens. A public client sends its `client_id` and no secret (RFC 7009 §2.1:
    the client authenticates "if" it has credentials): it can end only its own tokens."""

    authentication_classes = (ClientAuthentication, NamedClientAuthentication)

    @extend_schema(
        request=TokenHintInput,
        responses={200: None, 400: OAuthError, 401: OAuthError, 429: OAuthError},
    )
    def post(self, request):
        token = validated(TokenHintInput, request.data)["token"]
        token_revoke(token=token, caller=caller_of(request), client=client_of(request))
        return Response(status=200)
