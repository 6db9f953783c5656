"""The OAuth 2.0 token endpoint (RFC 6749): password, refresh_token and client_credentials."""

from __future__ import annotations

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts import errors
from accounts.flows.audiences import user_grant
from accounts.flows.clients import client_credentials_grant
from accounts.flows.login import password_login
from accounts.flows.sessions import session_refresh
from api.client_auth import ClientAuthentication, client_of, client_required
from api.common import GRANT_ERRORS, NoStoreApi, TokenOutput, caller_of, login_response
from api.inputs import ClientAuthInput, Param, validated


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


GRANTS = {
    "password": PasswordGrantInput,
    "refresh_token": RefreshGrantInput,
    "client_credentials": ClientCredentialsGrantInput,
}


class TokenApi(NoStoreApi):
    """OAuth 2.0 token endpoint (RFC 6749): password, refresh_token and client_credentials."""

    authentication_classes = (ClientAuthentication,)

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
        if grant == "refresh_token":
            body = session_refresh(
                refresh_token=data["refresh_token"],
                caller=caller,
                client=client_of(request),
                resource=data.get("resource"),
                scope=data.get("scope"),
            )
        else:
            body = client_credentials_grant(
                client=client_required(request),
                scope=data.get("scope"),
                caller=caller,
                resource=data.get("resource"),
            )
        return Response(body)
