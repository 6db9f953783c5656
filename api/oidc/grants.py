"""The OpenID grants of the token endpoint (api/oauth/token.py lists them in GRANTS)."""

from __future__ import annotations

from rest_framework import serializers

from accounts.flows.oidc.codes import authorization_code_exchange
from accounts.flows.oidc.device import DEVICE_GRANT, device_code_exchange
from api.client_auth import client_required
from api.inputs import ClientAuthInput, Param


class AuthorizationCodeGrantInput(ClientAuthInput):
    grant_type = serializers.ChoiceField(["authorization_code"])
    code = Param()
    redirect_uri = Param()
    code_verifier = Param(required=False, help_text="PKCE (RFC 7636): S256 only.")


def _authorization_code(request, data: dict, caller) -> dict:
    return authorization_code_exchange(
        code=data["code"],
        redirect_uri=data["redirect_uri"],
        code_verifier=data.get("code_verifier"),
        client=client_required(request),
        caller=caller,
    )


class DeviceCodeGrantInput(ClientAuthInput):
    grant_type = serializers.ChoiceField([DEVICE_GRANT])
    device_code = Param()


def _device_code(request, data: dict, caller) -> dict:
    return device_code_exchange(
        device_code=data["device_code"], client=client_required(request), caller=caller
    )


# Grants answered by their own function: (request, validated data, caller) -> token body.
GRANT_HANDLERS = {"authorization_code": _authorization_code, DEVICE_GRANT: _device_code}
