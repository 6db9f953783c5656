"""The seed documents' endpoints, answered by Warden's one token service (README "Coming from
the seeds"): POST /api/auth/token/refresh (seed 000), GET /api/auth/validate (seed 002), and
seed 003's central auth API at the root, /auth/login, /auth/verify, /auth/refresh, /auth/google.

Same flows as Warden's own endpoints (password_login, session_refresh, access_token_check), so
lockouts, MFA, revocation and the audit trail apply alike; only paths, field names and answer
shapes differ. Errors keep RFC 6749's `{"error", "error_description"}`, which is also the
`{error: ...}` seed 003's code reads. Each dialect is switched by WARDEN_DIALECT_<NAME>.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.response import Response

from accounts import metrics, tokens
from accounts.flows.dialects import (
    dialect_claims,
    dialect_enabled,
    dialect_grant,
    dialect_token_claims,
)
from accounts.flows.login import password_login
from accounts.flows.mfa import MfaChallenge, mfa_login_complete
from accounts.flows.sessions import session_refresh
from accounts.tokens import primary_role
from api.common import (
    LOGIN_ERRORS,
    TOKEN_ERRORS,
    NoStoreApi,
    OAuthError,
    TokenOutput,
    caller_of,
    login_response,
)
from api.inputs import Param, RefreshInput, validated
from api.verify import ClaimsOutput, guessing_stopped, verify


class DialectApi(NoStoreApi):
    """An endpoint of one dialect: 404 while its WARDEN_DIALECT_<NAME> setting is off."""

    dialect = ""

    def initial(self, request, *args, **kwargs):
        if not dialect_enabled(dialect=self.dialect):
            raise Http404(f"The {self.dialect} dialect is switched off.")
        super().initial(request, *args, **kwargs)


# --- Seed 000 and seed 002: other paths for Warden's own answers --------------------------------


class TokenRefreshApi(DialectApi):
    """Seed 000's refresh path: the same exchange as POST /api/auth/refresh, same answer."""

    dialect = "seed000"

    @extend_schema(request=RefreshInput, responses={200: TokenOutput, **TOKEN_ERRORS})
    def post(self, request):
        data = validated(RefreshInput, request.data)
        return Response(
            session_refresh(refresh_token=data["refresh_token"], caller=caller_of(request))
        )


class ValidateApi(DialectApi):
    """Seed 002's validation path: GET /api/auth/verify with a Bearer token, same answer."""

    dialect = "seed002"

    @extend_schema(responses={200: ClaimsOutput, 401: ClaimsOutput, 429: OAuthError})
    def get(self, request):
        return verify(request._request)


# --- Seed 003: the central auth API at /auth/ --------------------------------------------------

SEED003 = "seed003"


class Seed003LoginInput(serializers.Serializer):
    email = Param(help_text="The account's email address.")
    password = Param()


class Seed003MfaInput(serializers.Serializer):
    mfa_token = Param(help_text="From the 401 mfa_required answer of POST /auth/login.")
    code = Param(help_text="A TOTP code or a recovery code.")


class Seed003VerifyInput(serializers.Serializer):
    token = Param(required=False, help_text="An access token; absent or bad is not valid.")


class Seed003RefreshInput(serializers.Serializer):
    refreshToken = Param(help_text="The refreshToken of the last answer; each works once.")  # noqa: N815


Seed003User = inline_serializer(
    "Seed003User",
    {
        "userId": serializers.CharField(),
        "email": serializers.CharField(),
        "role": serializers.CharField(),
    },
)
Seed003LoginOutput = inline_serializer(
    "Seed003Login",
    {
        "token": serializers.CharField(),
        "refreshToken": serializers.CharField(),
        "user": Seed003User,
    },
)
Seed003VerifyOutput = inline_serializer(
    "Seed003Verify",
    {
        "valid": serializers.BooleanField(),
        "user": serializers.DictField(required=False, help_text="The token's claims."),
    },
)
Seed003RefreshOutput = inline_serializer(
    "Seed003Refresh",
    {"accessToken": serializers.CharField(), "refreshToken": serializers.CharField()},
)


def seed003_login_answer(result) -> Response:
    """Seed 003's login answer; a second factor is asked for exactly as /api/auth/login does."""
    if isinstance(result, MfaChallenge):
        return login_response(result)
    claims = tokens.AccessToken.parse(result["access_token"]).payload
    user = {
        "userId": claims["sub"],
        "email": claims["email"],
        "role": primary_role(claims["roles"]),
    }
    return Response(
        {"token": result["access_token"], "refreshToken": result["refresh_token"], "user": user}
    )


class Seed003SignInApi(DialectApi):
    """Sign in with email and password: `{token, refreshToken, user: {userId, email, role}}`.

    The second step (`flow` = mfa_login_complete) answers alike."""

    dialect = SEED003
    inputs: type[serializers.Serializer] = Seed003LoginInput
    flow = staticmethod(password_login)

    def post(self, request):
        caller = caller_of(request)
        data = validated(self.inputs, request.data)
        grant = dialect_grant(dialect=self.dialect)
        return seed003_login_answer(
            self.flow(request=caller.request, caller=caller, grant=grant, **data)
        )


@extend_schema_view(
    post=extend_schema(
        request=Seed003LoginInput, responses={200: Seed003LoginOutput, **LOGIN_ERRORS}
    )
)
class Seed003LoginApi(Seed003SignInApi):
    pass


@extend_schema_view(
    post=extend_schema(request=Seed003MfaInput, responses={200: Seed003LoginOutput, **TOKEN_ERRORS})
)
class Seed003MfaApi(Seed003SignInApi):
    """The second step after /auth/login answered mfa_required; answers like /auth/login."""

    inputs = Seed003MfaInput
    flow = staticmethod(mfa_login_complete)


class Seed003VerifyApi(DialectApi):
    """`{valid: true, user: claims}` for a live access token, else `{valid: false}`; both 200.

    The check is verify's (signature, pinned algorithm, iss, aud, expiry, revocation), and so
    is its limit on failed checks per IP (429 past it).
    """

    dialect = SEED003

    @extend_schema(
        request=Seed003VerifyInput,
        responses={200: Seed003VerifyOutput, 400: OAuthError, 429: OAuthError},
    )
    def post(self, request):
        raw = validated(Seed003VerifyInput, request.data).get("token")
        try:
            if not raw:
                raise tokens.TokenInvalid("no token")
            claims = dialect_token_claims(raw=raw, dialect=self.dialect)
        except tokens.TokenInvalid as exc:
            metrics.verify_outcome(exc.reason)
            if raw:
                guessing_stopped(request._request)
            return Response({"valid": False})
        metrics.verify_outcome(None)
        return Response({"valid": True, "user": claims})


class Seed003RefreshApi(DialectApi):
    """Exchange a refresh token, exactly once: `{accessToken, refreshToken}`."""

    dialect = SEED003

    @extend_schema(
        request=Seed003RefreshInput, responses={200: Seed003RefreshOutput, **TOKEN_ERRORS}
    )
    def post(self, request):
        data = validated(Seed003RefreshInput, request.data)
        body = session_refresh(
            refresh_token=data["refreshToken"],
            caller=caller_of(request),
            claims=dialect_claims(dialect=self.dialect),
        )
        return Response(
            {"accessToken": body["access_token"], "refreshToken": body["refresh_token"]}
        )


class Seed003GoogleApi(DialectApi):
    """Start Sign in with Google in a browser: a redirect to allauth's Google sign-in.

    allauth asks for a POST to start it (SOCIALACCOUNT_LOGIN_ON_GET stays off), so a GET shows
    its one-button confirmation page, whose form carries a CSRF token: another site can link
    here but cannot start a Google round trip in the user's browser unasked. The web flow ends
    in a Warden web session; an app wanting tokens posts Google's ID token to /api/auth/google.
    """

    dialect = SEED003

    @extend_schema(responses={302: OpenApiResponse(description="to /accounts/google/login/")})
    def get(self, request):
        query = {"process": "login"}
        if request.query_params.get("next"):
            query["next"] = request.query_params["next"]  # allauth checks it is one of ours
        return HttpResponseRedirect(f"{reverse('google_login')}?{urlencode(query)}")


seed003_urlpatterns = [
    path("login", Seed003LoginApi.as_view(), name="login"),
    path("login/mfa", Seed003MfaApi.as_view(), name="login-mfa"),
    path("verify", Seed003VerifyApi.as_view(), name="verify"),
    path("refresh", Seed003RefreshApi.as_view(), name="refresh"),
    path("google", Seed003GoogleApi.as_view(), name="google"),
]
