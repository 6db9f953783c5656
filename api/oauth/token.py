"""The OAuth 2.0 token endpoint (RFC 6749): password, refresh_token, client_credentials and
authorization_code (OpenID Connect, accounts/flows/oidc/codes.py)."""

from __future__ import annotations

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts import errors
from accounts.flows.clients import client_credentials_grant
from accounts.flows.login import password_login
from accounts.flows.sessions import session_refresh
from api.client_auth import (
    ClientAuthentication,
    PublicClientAuthentication,
    client_of,
    client_required,
)
from api.common import GRANT_ERRORS, NoStoreApi, TokenOutput, caller_of, login_response
from api.inputs import ClientAuthInput, Param, validated
from api.oidc.grants import GRANT_HANDLERS, AuthorizationCodeGrantInput, DeviceCodeGrantInput


class GrantInput(serializers.Serializer):
    grant_type = Param()


class PasswordGrantInput(ClientAuthInput):
    grant_type = serializers.ChoiceField(["password"])
    username = Param(help_text="The user's email address.")
    password = Param()
    scope = Param(required=False)


class RefreshGrantInput(ClientAuthInput):
    grant_type = serializers.ChoiceField(["refresh_token"])
    refresh_token = Param()
    scope = Param(required=False)


class ClientCredentialsGrantInput(ClientAuthInput):
    grant_type = serializers.ChoiceField(["client_credentials"])
    scope = Param(required=False)


GRANTS = {
    "password": PasswordGrantInput,
    "refresh_token": RefreshGrantInput,
    "client_credentials": ClientCredentialsGrantInput,
    "authorization_code": AuthorizationCodeGrantInput,
    "urn:ietf:params:oauth:grant-type:device_code": DeviceCodeGrantInput,
}


class TokenApi(NoStoreApi):
    """OAuth 2.0 token endpoint (RFC 6749): password, refresh_token and client_credentials."""

    authentication_classes = (ClientAuthentication, PublicClientAuthentication)

    @extend_schema(
        request=PolymorphicProxySerializer(
            component_name="TokenRequest",
            serializers=list(GRANTS.values()),
            resource_type_field_name="grant_type",
        ),
        responses={200: TokenOutput, **GRANT_ERRORS},
    )
    def post(self, request):
        grant = validated(GrantInput, request.data)["grant_type"]
        if grant not in GRANTS:
            raise errors.AuthError("unsupported_grant_type", f"Unsupported grant_type {grant!r}.")
        data, caller = validated(GRANTS[grant], request.data), caller_of(request)
        if grant in GRANT_HANDLERS:
            return Response(GRANT_HANDLERS[grant](request, data, caller))
        if grant == "password":
            result = password_login(
                request=caller.request,
                email=data["username"],
                password=data["password"],
                caller=caller,
                client=client_of(request),
            )
            return login_response(result)
        if grant == "refresh_token":
            body = session_refresh(
                refresh_token=data["refresh_token"], caller=caller, client=client_of(request)
            )
        else:
            body = client_credentials_grant(
                client=client_required(request), scope=data.get("scope"), caller=caller
            )
        return Response(body)
