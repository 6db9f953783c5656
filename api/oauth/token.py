"""The OAuth 2.0 token endpoint (RFC 6749): password, refresh_token, client_credentials, token
exchange (RFC 8693), and authorization_code and device_code (OpenID Connect,
accounts/flows/oidc/); every grant takes RFC 8707's `resource`."""

from __future__ import annotations

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts import errors
from accounts.flows import exchange
from accounts.flows.audiences import user_grant
from accounts.flows.clients import client_credentials_grant
from accounts.flows.login import password_login
from accounts.flows.oidc.codes import refreshed_id_token
from accounts.flows.sessions import session_refresh
from api.client_auth import (
    ClientAuthentication,
    PublicClientAuthentication,
    client_of,
    client_required,
    request_caller,
)
from api.common import GRANT_ERRORS, NoStoreApi, TokenOutput, login_response
from api.inputs import ClientAuthInput, Param, validated
from api.oidc.grants import GRANT_HANDLERS, AuthorizationCodeGrantInput, DeviceCodeGrantInput


class GrantInput(serializers.Serializer):
    grant_type = Param()


def resource_param() -> Param:
    return Param(
        required=False,
        max_length=255,
        help_text="RFC 8707: the resource server (audience) the token is for; default: "
        "Warden's default audience (a refresh: the audience of its session).",
    )


class PasswordGrantInput(ClientAuthInput):
    grant_type = serializers.ChoiceField(["password"])
    username = Param(help_text="The user's email address.")
    password = Param()
    scope = Param(required=False)
    resource = resource_param()


class RefreshGrantInput(ClientAuthInput):
    grant_type = serializers.ChoiceField(["refresh_token"])
    refresh_token = Param()
    scope = Param(required=False, help_text="At most the session's scopes.")
    resource = resource_param()


class ClientCredentialsGrantInput(ClientAuthInput):
    grant_type = serializers.ChoiceField(["client_credentials"])
    scope = Param(required=False)
    resource = resource_param()


class TokenExchangeGrantInput(ClientAuthInput):
    grant_type = serializers.ChoiceField([exchange.GRANT_TYPE])
    subject_token = Param(
        help_text="The user's access token (or, for an admin acting as a user, the user's id)."
    )
    subject_token_type = serializers.ChoiceField(
        [exchange.ACCESS_TOKEN_TYPE, exchange.USER_ID_TYPE]
    )
    actor_token = Param(required=False, help_text="Impersonation only: the admin's access token.")
    actor_token_type = Param(required=False)
    resource = resource_param()
    audience = Param(required=False, max_length=255, help_text="The same as resource.")
    scope = Param(required=False)
    requested_token_type = serializers.ChoiceField(
        [exchange.ACCESS_TOKEN_TYPE], required=False, help_text="Only access tokens are issued."
    )


GRANTS = {
    "password": PasswordGrantInput,
    "refresh_token": RefreshGrantInput,
    "client_credentials": ClientCredentialsGrantInput,
    exchange.GRANT_TYPE: TokenExchangeGrantInput,
    "authorization_code": AuthorizationCodeGrantInput,
    "urn:ietf:params:oauth:grant-type:device_code": DeviceCodeGrantInput,
}


class TokenApi(NoStoreApi):
    """OAuth 2.0 token endpoint: every grant of GRANTS, with client authentication."""

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
        data, caller = validated(GRANTS[grant], request.data), request_caller(request)
        if grant in GRANT_HANDLERS:
            return Response(GRANT_HANDLERS[grant](request, data, caller))
        if grant == "password":
            target = user_grant(
                resource=data.get("resource"), scope=data.get("scope"), client=client_of(request)
            )
            result = password_login(
                request=caller.request,
                email=data["username"],
                password=data["password"],
                caller=caller,
                client=client_of(request),
                grant=target,
            )
            return login_response(result)
        if grant == exchange.GRANT_TYPE:
            body = exchange.token_exchange(
                client=client_of(request),
                subject_token=data["subject_token"],
                subject_token_type=data["subject_token_type"],
                resource=data.get("resource"),
                audience=data.get("audience"),
                scope=data.get("scope"),
                actor_token=data.get("actor_token"),
                actor_token_type=data.get("actor_token_type"),
                caller=caller,
            )
        elif grant == "refresh_token":
            body = session_refresh(
                refresh_token=data["refresh_token"],
                caller=caller,
                client=client_of(request),
                resource=data.get("resource"),
                scope=data.get("scope"),
            )
            body = refreshed_id_token(body=body, client=client_of(request), scope=data.get("scope"))
        else:
            body = client_credentials_grant(
                client=client_required(request),
                scope=data.get("scope"),
                caller=caller,
                resource=data.get("resource"),
            )
        return Response(body)
