"""First-party JSON sign-in for Warden's own apps: login, its MFA step, Google, refresh, logout."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts.flows.google import google_login
from accounts.flows.login import password_login
from accounts.flows.mfa import mfa_login_complete
from accounts.flows.sessions import session_logout, session_refresh
from api.client_auth import ClientAuthentication, client_of
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


class LoginInput(serializers.Serializer):
    email = Param(required=False, help_text="The account's email address.")
    username = Param(required=False, help_text="The email address, by its OAuth name.")
    password = Param()

    def validate(self, attrs):
        email, username = attrs.pop("email", None), attrs.pop("username", None)
        if email and username and email != username:
            raise serializers.ValidationError({"email": "Send email or username, not both."})
        if not (email or username):
            raise serializers.ValidationError({"email": "required"}, code="required")
        return {**attrs, "email": email or username}


class GoogleLoginInput(serializers.Serializer):
    id_token = Param(help_text="An ID token from Google's sign-in SDK.")


class MfaLoginInput(serializers.Serializer):
    mfa_token = Param()
    code = Param(help_text="A TOTP code or a recovery code.")


class LoginApi(NoStoreApi):
    """First-party sign-in with email and password; answers like the token endpoint."""

    @extend_schema(request=LoginInput, responses={200: TokenOutput, **LOGIN_ERRORS})
    def post(self, request):
        caller = caller_of(request)
        data = validated(LoginInput, request.data)
        return login_response(password_login(request=caller.request, caller=caller, **data))


class GoogleLoginApi(NoStoreApi):
    """Sign in with an ID token from Google's SDK (mobile apps, SPAs); answers like login.

    The token must be signed by Google, minted for one of Warden's Google client ids, unexpired,
    and unused: each ID token signs in once. The account rules are the web flow's.
    """

    @extend_schema(
        request=GoogleLoginInput,
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
        data = validated(GoogleLoginInput, request.data)
        return login_response(google_login(request=caller.request, caller=caller, **data))


class MfaLoginApi(NoStoreApi):
    """Second step of a sign-in that answered mfa_required: a TOTP or recovery code."""

    authentication_classes = (ClientAuthentication,)

    @extend_schema(request=MfaLoginInput, responses={200: TokenOutput, **TOKEN_ERRORS})
    def post(self, request):
        caller = caller_of(request)
        body = mfa_login_complete(
            request=caller.request,
            caller=caller,
            client=client_of(request),
            **validated(MfaLoginInput, request.data),
        )
        return Response(body)


class RefreshApi(NoStoreApi):
    """Exchange a refresh token, exactly once, for a new pair."""

    @extend_schema(request=RefreshInput, responses={200: TokenOutput, **TOKEN_ERRORS})
    def post(self, request):
        data = validated(RefreshInput, request.data)
        body = session_refresh(refresh_token=data["refresh_token"], caller=caller_of(request))
        return Response(body)


class LogoutApi(NoStoreApi):
    """End the session a refresh token belongs to."""

    authentication_classes = (ClientAuthentication,)

    @extend_schema(
        request=RefreshInput,
        responses={204: None, 400: OAuthError, 401: OAuthError, 429: OAuthError},
    )
    def post(self, request):
        data = validated(RefreshInput, request.data)
        session_logout(
            refresh_token=data["refresh_token"],
            caller=caller_of(request),
            client=client_of(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
