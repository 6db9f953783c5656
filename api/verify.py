"""GET/POST /api/auth/verify: the token check gateways (auth_request, ForwardAuth) call."""

from __future__ import annotations

import json
from collections.abc import Mapping

from django.http import JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.views import APIView

from accounts import errors, metrics, ratelimit, tokens
from accounts.outages import CACHE_ERRORS
from api import edge
from api.common import NO_STORE, OAuthError, bearer_token, caller_of
from api.exceptions import auth_error_json
from api.inputs import Param

ClaimsOutput = inline_serializer(
    "VerifyResponse",
    {
        "active": serializers.BooleanField(),
        "sub": serializers.CharField(required=False),
        "subject_type": serializers.ChoiceField(["user", "service"], required=False),
        "email": serializers.CharField(required=False),
        "roles": serializers.ListField(child=serializers.CharField(), required=False),
        "scope": serializers.CharField(required=False),
        "exp": serializers.IntegerField(required=False),
        "iat": serializers.IntegerField(required=False),
        "sid": serializers.CharField(required=False),
        "client_id": serializers.CharField(required=False),
        "aud": serializers.CharField(required=False),
        "act": serializers.DictField(required=False),
        "error": serializers.CharField(required=False),
    },
)
VERIFY_CHALLENGE = {
    "no token": 'Bearer realm="warden"',  # RFC 6750 §3.1: no error code without a token
}


def guessing_stopped(request) -> None:
    """Count a failed token check per IP; past the limit, answer 429 instead.

    Only failures count: a gateway verifies every user's token from one address.
    """
    ip = caller_of(request).ip
    if ratelimit.exempt(ip):
        return
    try:
        retry_after = ratelimit.record_failure(ratelimit.token_guess_limit(), ip or "unknown")
    except CACHE_ERRORS:
        # The token is refused anyway; without Redis the guess goes uncounted, not the answer
        # turned into a 503 (verify must answer as it would with Redis).
        return
    if retry_after:
        raise errors.AuthError(
            "rate_limited",
            "Too many invalid tokens from this address; try again later.",
            status=429,
            retry_after=retry_after,
            extra={"active": False},
        )


def verify_body(claims: dict) -> dict:
    body = {
        "active": True,
        "sub": claims["sub"],
        "subject_type": tokens.subject_type(claims),
        "roles": claims.get("roles", []),
        "exp": claims["exp"],
        "iat": claims["iat"],
    }
    for name in ("email", "scope", "sid", "client_id", "aud", "act"):
        if name in claims:
            body[name] = claims[name]
    return body


def gateway_headers(claims: dict) -> dict:
    return {
        "X-User-Id": claims["sub"],
        "X-User-Email": claims.get("email", ""),
        "X-User-Roles": ",".join(claims.get("roles", [])),
    }


AUDIENCE_HEADER = "HTTP_X_WARDEN_AUDIENCE"


def expected_audience(request, data=None) -> str | None:
    """The audience a token must carry here: `audience` (query or body) or X-Warden-Audience,
    which a gateway sets per route; None is the default audience."""
    for value in (
        request.GET.get("audience"),
        data.get("audience") if data is not None else None,
        request.META.get(AUDIENCE_HEADER),
    ):
        if isinstance(value, str) and value.strip():
            return value.strip()[:255]
    return None


def verify_token_of(request) -> str | None:
    """The token a verify call presents: the Bearer header (GET) or a "token" field (POST)."""
    if request.method != "POST":
        return bearer_token(request)
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"null")
        except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested past the limit
            return None
    else:
        try:
            data = request.POST
        except MultiPartParserError:
            return None
    token = data.get("token") if isinstance(data, Mapping) else None
    return token if isinstance(token, str) else None


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def verify(request) -> JsonResponse:
    """The verify hot path, written as a plain Django view on purpose.

    Gateways call it on every request they pass, so it skips DRF's request wrapping, content
    negotiation and rendering (~100 us of a ~250 us request). It does no less checking: all of
    it is tokens.access_token_check (pinned alg, iss, aud, typ, token_type, revocation).
    `VerifyDescription` below tells the OpenAPI schema what it accepts and answers.
    """
    raw, audience = verify_token_of(request), expected_audience(request)
    try:
        if not raw:
            raise tokens.TokenInvalid("no token")
        claims = tokens.access_token_check(raw=raw, audience=audience)
    except tokens.TokenInvalid as exc:
        metrics.verify_outcome(exc.reason)
        if raw:
            try:
                guessing_stopped(request)
            except errors.AuthError as refused:
                return auth_error_json(refused, request)
        challenge = VERIFY_CHALLENGE.get(exc.reason, 'Bearer realm="warden", error="invalid_token"')
        return JsonResponse(
            {"active": False, "error": exc.reason},
            status=401,
            headers={"WWW-Authenticate": challenge, **NO_STORE},
        )
    metrics.verify_outcome(None)
    request.META[edge.VERIFIED] = (raw, audience)  # the answer holds while the token does
    return JsonResponse(verify_body(claims), headers={**gateway_headers(claims), **NO_STORE})


class VerifyInput(serializers.Serializer):
    token = Param()


AUDIENCE_PARAMETERS = [
    OpenApiParameter(
        "audience",
        str,
        OpenApiParameter.QUERY,
        description="The audience the token must be for (default: Warden's default audience).",
    ),
    OpenApiParameter(
        "X-Warden-Audience",
        str,
        OpenApiParameter.HEADER,
        description="The same, set by a gateway per route.",
    ),
]


class VerifyDescription(APIView):
    """Token check for gateways (auth_request, ForwardAuth) and services: 200 or 401.

    Not routed: api.schema lists the `verify` view under this description, so the OpenAPI
    document has the endpoint while requests skip DRF. Were it routed, it would answer alike.
    """

    authentication_classes = ()
    permission_classes = ()

    @extend_schema(
        parameters=AUDIENCE_PARAMETERS,
        responses={200: ClaimsOutput, 401: ClaimsOutput, 429: OAuthError},
    )
    def get(self, request):
        return verify(request._request)

    @extend_schema(
        request=VerifyInput,
        parameters=AUDIENCE_PARAMETERS,
        responses={200: ClaimsOutput, 401: ClaimsOutput, 429: OAuthError},
    )
    def post(self, request):
        return verify(request._request)
