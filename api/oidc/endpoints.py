"""The JSON endpoints apps call besides the token endpoint: device authorization (RFC 8628),
pushed authorization requests (RFC 9126) and dynamic registration (RFC 7591, off unless
WARDEN_OIDC_DYNAMIC_REGISTRATION)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from accounts import errors
from accounts.flows.oidc import authorize, device
from accounts.flows.oidc.clients import oidc_client_create
from accounts.flows.oidc.codes import oidc_client_of
from api.client_auth import ClientAuthentication, NamedClientAuthentication, client_required
from api.common import NoStoreApi, OAuthError
from api.inputs import ClientAuthInput, Param, validated


class DeviceAuthorizationInput(ClientAuthInput):
    scope = Param(required=False)


DeviceAuthorizationOutput = inline_serializer(
    "DeviceAuthorization",
    {
        "device_code": serializers.CharField(),
        "user_code": serializers.CharField(),
        "verification_uri": serializers.URLField(),
        "verification_uri_complete": serializers.URLField(),
        "expires_in": serializers.IntegerField(),
        "interval": serializers.IntegerField(),
    },
)


class DeviceAuthorizationApi(NoStoreApi):
    """RFC 8628 §3.1: a device asks for a user code; public clients name themselves."""

    authentication_classes = (ClientAuthentication, NamedClientAuthentication)

    @extend_schema(
        request=DeviceAuthorizationInput,
        responses={200: DeviceAuthorizationOutput, 400: OAuthError, 401: OAuthError},
    )
    def post(self, request):
        data = validated(DeviceAuthorizationInput, request.data)
        started = device.device_authorization_start(
            client=client_required(request), scope=data.get("scope")
        )
        page = settings.WARDEN_ISSUER.rstrip("/") + reverse("oidc:device")
        return Response(
            {
                "device_code": started["device_code"],
                "user_code": started["user_code"],
                "verification_uri": page,
                "verification_uri_complete": f"{page}?user_code={started['user_code']}",
                "expires_in": int(device.LIFETIME.total_seconds()),
                "interval": started["interval"],
            }
        )


PushedOutput = inline_serializer(
    "PushedAuthorizationResponse",
    {"request_uri": serializers.CharField(), "expires_in": serializers.IntegerField()},
)


class PushedAuthorizationApi(NoStoreApi):
    """RFC 9126: the authorization request's parameters, pushed; answered with a request_uri
    for the authorization endpoint (used once, within a minute)."""

    authentication_classes = (ClientAuthentication, NamedClientAuthentication)

    @extend_schema(
        request=ClientAuthInput,
        responses={201: PushedOutput, 400: OAuthError, 401: OAuthError},
    )
    def post(self, request):
        client = oidc_client_of(client_required(request))
        params = {k: request.data.get(k) for k in request.data if k != "client_secret"}
        if not all(isinstance(v, str) for v in params.values()):
            raise errors.invalid_request("Every parameter must be a string.")
        try:
            request_uri, expires_in = authorize.pushed_request_store(client=client, params=params)
        except authorize.AuthorizeRefused as exc:
            raise errors.AuthError(exc.error, exc.description) from exc
        return Response({"request_uri": request_uri, "expires_in": expires_in}, status=201)


class RegistrationInput(serializers.Serializer):
    client_name = serializers.CharField(max_length=100)
    redirect_uris = serializers.ListField(child=serializers.CharField(max_length=500))
    post_logout_redirect_uris = serializers.ListField(
        child=serializers.CharField(max_length=500), required=False
    )
    backchannel_logout_uri = serializers.URLField(required=False)
    token_endpoint_auth_method = serializers.ChoiceField(
        ["client_secret_basic", "client_secret_post", "none"], required=False
    )
    scope = serializers.CharField(required=False)


class RegistrationApi(NoStoreApi):
    """RFC 7591 dynamic registration: off (404) unless WARDEN_OIDC_DYNAMIC_REGISTRATION."""

    @extend_schema(
        request=RegistrationInput,
        responses={
            201: inline_serializer(
                "RegisteredClient",
                {"client_id": serializers.CharField(), "client_secret": serializers.CharField()},
            ),
            400: OAuthError,
            404: OpenApiResponse(description="registration is off"),
        },
    )
    def post(self, request):
        if not settings.WARDEN_OIDC_DYNAMIC_REGISTRATION:
            raise Http404("Dynamic registration is off.")
        checked = RegistrationInput(data=request.data)
        if not checked.is_valid():
            raise errors.AuthError("invalid_client_metadata", str(checked.errors))
        data = checked.validated_data
        public = data.get("token_endpoint_auth_method") == "none"
        try:
            client, secret = oidc_client_create(
                name=f"{data['client_name']} ({authorize.random.token_hex(3)})",
                redirect_uris=data["redirect_uris"],
                public=public,
                post_logout_redirect_uris=data.get("post_logout_redirect_uris", []),
                backchannel_logout_uri=data.get("backchannel_logout_uri", ""),
                scopes=data.get("scope", "").split() or None,
            )
        except ValidationError as exc:
            raise errors.AuthError("invalid_redirect_uri", " ".join(exc.messages)) from exc
        body = {
            "client_id": client.client_id,
            "client_name": client.name,
            "redirect_uris": data["redirect_uris"],
            "token_endpoint_auth_method": "none" if public else "client_secret_basic",
            "grant_types": ["authorization_code", "refresh_token"],
            "client_id_issued_at": int(client.created_at.timestamp()),
        }
        if secret:
            body.update(client_secret=secret, client_secret_expires_at=0)
        return Response(body, status=201)
