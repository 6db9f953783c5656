"""HTTP endpoints: each validates input, calls one service, and shapes the answer."""

import base64
import binascii
import json
from collections.abc import Mapping
from urllib.parse import unquote_plus

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from drf_spectacular.utils import (
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import errors, metrics, mfa, ratelimit, selectors, services, tokens
from accounts.models import AuthSession, ServiceClient, User
from api.exceptions import auth_error_json
from api.permissions import HasRole, IsEndUser

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

OAuthError = inline_serializer(
    "OAuthError",
    {
        "error": serializers.CharField(),
        "error_description": serializers.CharField(required=False),
    },
)
TokenOutput = inline_serializer(
    "TokenResponse",
    {
        "access_token": serializers.CharField(),
        "token_type": serializers.CharField(),
        "expires_in": serializers.IntegerField(),
        "refresh_token": serializers.CharField(required=False),
        "scope": serializers.CharField(required=False),
    },
)
ClaimsOutput = inline_serializer(
    "VerifyResponse",
    {
        "active": serializers.BooleanField(),
        "sub": serializers.CharField(required=False),
        "subject_type": serializers.ChoiceField(["user", "service"], required=False),
        "email": serializers.EmailField(required=False),
        "roles": serializers.ListField(child=serializers.CharField(), required=False),
        "scope": serializers.CharField(required=False),
        "exp": serializers.IntegerField(required=False),
        "iat": serializers.IntegerField(required=False),
        "sid": serializers.CharField(required=False),
        "client_id": serializers.CharField(required=False),
        "error": serializers.CharField(required=False),
    },
)
TOKEN_ERRORS = {
    400: OpenApiResponse(OAuthError, "invalid_request, invalid_grant, invalid_scope, ..."),
    401: OpenApiResponse(OAuthError, "invalid_client, or mfa_required"),
    429: OpenApiResponse(OAuthError, "rate_limited, with Retry-After"),
}
MfaChallenge = inline_serializer(
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
    401: OpenApiResponse(MfaChallenge, "mfa_required: answer with POST /api/auth/login/mfa"),
    403: OpenApiResponse(OAuthError, "mfa_setup_required: the role requires a second factor"),
}
InvalidClient = inline_serializer(
    "InvalidClient",
    {
        "error": serializers.ChoiceField(["invalid_client"]),
        "error_description": serializers.CharField(),
    },
)
# The token endpoint authenticates clients too, so its 401 is one of two disjoint shapes.
GRANT_ERRORS = {
    **LOGIN_ERRORS,
    401: OpenApiResponse(
        PolymorphicProxySerializer(
            component_name="TokenUnauthorized",
            serializers=[InvalidClient, MfaChallenge],
            resource_type_field_name=None,
        ),
        "invalid_client, or mfa_required for the password grant",
    ),
}


def caller_of(request) -> services.Caller:
    return services.Caller.of(request)


def param(data, name: str, *, required: bool = True) -> str | None:
    """One string field of a form or JSON body; anything else is invalid_request."""
    if not isinstance(data, Mapping):
        raise errors.invalid_request("The body must be a JSON object or a form.")
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise errors.invalid_request(f"The {name!r} parameter is required.")
        return None
    if not isinstance(value, str) or len(value) > 8192:
        raise errors.invalid_request(f"The {name!r} parameter must be a string.")
    return value


def authenticated_client(request, *, required: bool) -> ServiceClient | None:
    """Client authentication by HTTP Basic or body parameters (RFC 6749 §2.3.1)."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    body_id = param(request.data, "client_id", required=False)
    body_secret = param(request.data, "client_secret", required=False)
    if header[:6].lower() == "basic ":
        if body_secret:
            raise errors.invalid_request("Use one client authentication method, not two.")
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
            client_id, client_secret = (unquote_plus(part) for part in decoded.split(":", 1))
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise errors.invalid_client("Malformed HTTP Basic credentials.") from exc
    elif body_id and body_secret:
        client_id, client_secret = body_id, body_secret
    elif required:
        raise errors.invalid_client("Client authentication is required.")
    else:
        return None
    return services.service_client_authenticate(
        client_id=client_id, client_secret=client_secret, caller=caller_of(request)
    )


class NoStoreApi(APIView):
    """Responses that may carry a token are never cached by anyone."""

    authentication_classes = ()
    permission_classes = ()
    oauth_errors = True

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        for key, value in NO_STORE.items():
            response[key] = value
        return response


class TokenApi(NoStoreApi):
    """OAuth 2.0 token endpoint (RFC 6749): password, refresh_token and client_credentials."""

    @extend_schema(
        request=inline_serializer(
            "TokenRequest",
            {
                "grant_type": serializers.ChoiceField(
                    ["password", "refresh_token", "client_credentials"]
                ),
                "username": serializers.CharField(required=False),
                "password": serializers.CharField(required=False),
                "refresh_token": serializers.CharField(required=False),
                "scope": serializers.CharField(required=False),
                "client_id": serializers.CharField(required=False),
                "client_secret": serializers.CharField(required=False),
            },
        ),
        responses={200: TokenOutput, **GRANT_ERRORS},
    )
    def post(self, request):
        data, caller = request.data, caller_of(request)
        grant = param(data, "grant_type")
        if grant == "password":
            client = authenticated_client(request, required=False)
            body = services.password_login(
                request=caller.request,
                email=param(data, "username"),
                password=param(data, "password"),
                caller=caller,
                client=client,
            )
        elif grant == "refresh_token":
            client = authenticated_client(request, required=False)
            body = services.session_refresh(
                refresh_token=param(data, "refresh_token"), caller=caller, client=client
            )
        elif grant == "client_credentials":
            client = authenticated_client(request, required=True)
            body = services.client_credentials_grant(
                client=client, scope=param(data, "scope", required=False), caller=caller
            )
        else:
            raise errors.AuthError("unsupported_grant_type", f"Unsupported grant_type {grant!r}.")
        return Response(body)


class LoginApi(NoStoreApi):
    """First-party sign-in with email and password; answers like the token endpoint."""

    @extend_schema(
        request=inline_serializer(
            "LoginRequest", {"email": serializers.EmailField(), "password": serializers.CharField()}
        ),
        responses={200: TokenOutput, **LOGIN_ERRORS},
    )
    def post(self, request):
        caller = caller_of(request)
        body = services.password_login(
            request=caller.request,
            email=param(request.data, "email"),
            password=param(request.data, "password"),
            caller=caller,
        )
        return Response(body)


class GoogleLoginApi(NoStoreApi):
    """Sign in with an ID token from Google's SDK (mobile apps, SPAs); answers like login.

    The token must be signed by Google, minted for one of Warden's Google client ids, unexpired,
    and unused: each ID token signs in once. The account rules are the web flow's.
    """

    @extend_schema(
        request=inline_serializer("GoogleLoginRequest", {"id_token": serializers.CharField()}),
        responses={
            200: TokenOutput,
            **LOGIN_ERRORS,  # a second factor is asked for as after a password
            400: OpenApiResponse(
                OAuthError, "invalid_request, or invalid_grant: bad, expired or replayed token"
            ),
            503: OpenApiResponse(OAuthError, "temporarily_unavailable: Google's keys unreachable"),
        },
    )
    def post(self, request):
        caller = caller_of(request)
        body = services.google_login(
            request=caller.request, id_token=param(request.data, "id_token"), caller=caller
        )
        return Response(body)


class MfaLoginApi(NoStoreApi):
    """Second step of a sign-in that answered mfa_required: a TOTP or recovery code."""

    @extend_schema(
        request=inline_serializer(
            "MfaLoginRequest",
            {"mfa_token": serializers.CharField(), "code": serializers.CharField()},
        ),
        responses={200: TokenOutput, **TOKEN_ERRORS},
    )
    def post(self, request):
        caller = caller_of(request)
        body = mfa.mfa_login_complete(
            request=caller.request,
            mfa_token=param(request.data, "mfa_token"),
            code=param(request.data, "code"),
            caller=caller,
            client=authenticated_client(request, required=False),
        )
        return Response(body)


RefreshRequest = inline_serializer("RefreshRequest", {"refresh_token": serializers.CharField()})


class RefreshApi(NoStoreApi):
    """Exchange a refresh token, exactly once, for a new pair."""

    @extend_schema(request=RefreshRequest, responses={200: TokenOutput, **TOKEN_ERRORS})
    def post(self, request):
        body = services.session_refresh(
            refresh_token=param(request.data, "refresh_token"), caller=caller_of(request)
        )
        return Response(body)


class LogoutApi(NoStoreApi):
    """End the session a refresh token belongs to."""

    @extend_schema(
        request=RefreshRequest,
        responses={204: None, 400: OAuthError, 401: OAuthError, 429: OAuthError},
    )
    def post(self, request):
        services.session_end_by_token(
            token=param(request.data, "refresh_token"),
            caller=caller_of(request),
            client=authenticated_client(request, required=False),
            logout=True,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


def guessing_stopped(request) -> None:
    """Count a failed token check per IP; past the limit, answer 429 instead.

    Only failures count: a gateway verifies every user's token from one address.
    """
    ip = caller_of(request).ip
    if ratelimit.exempt(ip):
        return
    retry_after = ratelimit.record_failure(ratelimit.token_guess_limit(), ip or "unknown")
    if retry_after:
        raise errors.AuthError(
            "rate_limited",
            "Too many invalid tokens from this address; try again later.",
            status=429,
            retry_after=retry_after,
            extra={"active": False},
        )


def bearer_token(request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def verify_body(claims: dict) -> dict:
    body = {
        "active": True,
        "sub": claims["sub"],
        "subject_type": tokens.subject_type(claims),
        "roles": claims.get("roles", []),
        "exp": claims["exp"],
        "iat": claims["iat"],
    }
    for name in ("email", "scope", "sid", "client_id"):
        if name in claims:
            body[name] = claims[name]
    return body


def gateway_headers(claims: dict) -> dict:
    return {
        "X-User-Id": claims["sub"],
        "X-User-Email": claims.get("email", ""),
        "X-User-Roles": ",".join(claims.get("roles", [])),
    }


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


VERIFY_CHALLENGE = {
    "no token": 'Bearer realm="warden"',  # RFC 6750 §3.1: no error code without a token
}


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def verify(request) -> JsonResponse:
    """The verify hot path, written as a plain Django view on purpose.

    Gateways call it on every request they pass, so it skips DRF's request wrapping, content
    negotiation and rendering (~100 us of a ~250 us request). It does no less checking: all of
    it is tokens.access_token_check (pinned alg, iss, aud, typ, token_type, revocation).
    """
    raw = verify_token_of(request)
    try:
        if not raw:
            raise tokens.TokenInvalid("no token")
        claims = tokens.access_token_check(raw=raw)
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
    return JsonResponse(verify_body(claims), headers={**gateway_headers(claims), **NO_STORE})


class VerifyApi(APIView):
    """Token check for gateways (auth_request, ForwardAuth) and services: 200 or 401.

    This class describes the endpoint for the OpenAPI schema; requests are served by the plain
    `verify` view above (see why there), which `as_view` returns with this class attached.
    """

    authentication_classes = ()
    permission_classes = ()

    @classmethod
    def as_view(cls, **initkwargs):
        described = super().as_view(**initkwargs)
        verify.cls, verify.initkwargs = described.cls, described.initkwargs
        return verify

    @extend_schema(responses={200: ClaimsOutput, 401: ClaimsOutput, 429: OAuthError})
    def get(self, request):
        return verify(request._request)

    @extend_schema(
        request=inline_serializer("VerifyRequest", {"token": serializers.CharField()}),
        responses={200: ClaimsOutput, 401: ClaimsOutput, 429: OAuthError},
    )
    def post(self, request):
        return verify(request._request)


# RFC 7662 and RFC 7009 take the same body.
TokenHintRequest = inline_serializer(
    "TokenHintRequest",
    {"token": serializers.CharField(), "token_type_hint": serializers.CharField(required=False)},
)


class IntrospectApi(NoStoreApi):
    """RFC 7662 introspection for authenticated service clients."""

    @extend_schema(
        request=TokenHintRequest,
        responses={200: ClaimsOutput, 400: OAuthError, 401: OAuthError, 429: OAuthError},
    )
    def post(self, request):
        authenticated_client(request, required=True)
        token = param(request.data, "token", required=False)
        try:
            claims = tokens.access_token_check(raw=token or "")
        except tokens.TokenInvalid:
            guessing_stopped(request)
            return Response({"active": False})
        body = {**claims, **verify_body(claims)}
        if "email" in claims:
            body["username"] = claims["email"]
        return Response(body)


class RevokeApi(NoStoreApi):
    """RFC 7009 revocation: ends the session a token belongs to; always 200 for bad tokens."""

    @extend_schema(
        request=TokenHintRequest,
        responses={200: None, 400: OAuthError, 401: OAuthError, 429: OAuthError},
    )
    def post(self, request):
        client = authenticated_client(request, required=False)
        token = param(request.data, "token")
        services.session_end_by_token(token=token, caller=caller_of(request), client=client)
        return Response(status=200)


class MeApi(APIView):
    permission_classes = (IsAuthenticated, IsEndUser)

    @extend_schema(
        responses=inline_serializer(
            "Profile",
            {
                "sub": serializers.UUIDField(),
                "email": serializers.EmailField(),
                "first_name": serializers.CharField(),
                "last_name": serializers.CharField(),
                "roles": serializers.ListField(child=serializers.CharField()),
                "date_joined": serializers.DateTimeField(),
                "connected_accounts": serializers.ListField(child=serializers.DictField()),
            },
        )
    )
    def get(self, request):
        return Response(selectors.user_profile(user=request.user), headers=NO_STORE)


class SessionOutput(serializers.ModelSerializer):
    current = serializers.SerializerMethodField()

    class Meta:
        model = AuthSession
        fields = (
            "id",
            "method",
            "created_at",
            "last_used_at",
            "expires_at",
            "ip",
            "user_agent",
            "current",
        )

    def get_current(self, obj: AuthSession) -> bool:
        return str(obj.id) == self.context.get("sid")


class SessionListApi(APIView):
    permission_classes = (IsAuthenticated, IsEndUser)

    @extend_schema(responses=SessionOutput(many=True))
    def get(self, request):
        sessions = selectors.user_live_sessions(user=request.user)
        data = SessionOutput(sessions, many=True, context={"sid": request.auth["sid"]}).data
        return Response(data)


class SessionDetailApi(APIView):
    permission_classes = (IsAuthenticated, IsEndUser)

    @extend_schema(responses={204: None, 404: None})
    def delete(self, request, session_id):
        session = generics.get_object_or_404(AuthSession, pk=session_id, user=request.user)
        services.session_revoke(session=session, reason="user", caller=caller_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AdminUserOutput(serializers.ModelSerializer):
    sub = serializers.UUIDField(source="public_id")
    roles = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ("sub", "email", "first_name", "last_name", "roles", "is_active", "date_joined")

    def get_roles(self, obj: User) -> list[str]:
        return obj.role_names


class AdminUserListApi(generics.ListAPIView):
    """Every user, for callers with the `admin` role."""

    permission_classes = (IsAuthenticated, HasRole("admin"))
    serializer_class = AdminUserOutput
    queryset = User.objects.prefetch_related("groups").order_by("email")


class JwksApi(APIView):
    authentication_classes = ()
    permission_classes = ()

    @extend_schema(responses=inline_serializer("Jwks", {"keys": serializers.ListField()}))
    def get(self, request):
        return Response(
            {"keys": tokens.keyring.jwks(max_age=tokens.JWKS_MAX_AGE)},
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
        return Response(
            {
                "issuer": settings.WARDEN_ISSUER,
                "token_endpoint": base + reverse("api:token"),
                "jwks_uri": base + reverse("jwks"),
                "introspection_endpoint": base + reverse("api:introspect"),
                "revocation_endpoint": base + reverse("api:revoke"),
                "userinfo_endpoint": base + reverse("api:me"),
                "grant_types_supported": ["password", "refresh_token", "client_credentials"],
                "response_types_supported": ["token"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
                "introspection_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
                "revocation_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                    "none",
                ],
                "token_endpoint_auth_signing_alg_values_supported": list(tokens.ALGORITHMS),
                "id_token_signing_alg_values_supported": list(tokens.ALGORITHMS),
                "subject_types_supported": ["public"],
                "claims_supported": [
                    "sub",
                    "email",
                    "roles",
                    "sid",
                    "client_id",
                    "scope",
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


def healthz(request) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request) -> JsonResponse:
    """Ready when the database and the cache both answer."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"status": "unavailable", "reason": "database unreachable"}, status=503)
    try:
        cache.set("readyz", "1", 5)
        if cache.get("readyz") != "1":
            raise RuntimeError("cache did not keep a value")
    except Exception:
        return JsonResponse({"status": "unavailable", "reason": "cache unreachable"}, status=503)
    return JsonResponse({"status": "ok"})
