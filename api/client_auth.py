"""OAuth client authentication as a DRF authentication class: secrets (RFC 6749 §2.3.1) or
signed assertions (RFC 7523 private_key_jwt)."""

import base64
import binascii
from urllib.parse import unquote_plus

from django.conf import settings
from django.urls import reverse
from rest_framework import authentication

from accounts import errors
from accounts.audit import Caller
from accounts.flows.client_keys import ASSERTION_TYPE, client_assertion_authenticate
from accounts.flows.clients import service_client_authenticate
from accounts.flows.oidc.clients import oidc_client_get
from accounts.models import ServiceClient
from api.common import caller_of
from api.inputs import ClientAuthInput, validated


class ClientAuthentication(authentication.BaseAuthentication):
    """An OAuth client by HTTP Basic or body parameters; `request.user` is its ServiceClient.

    No credentials at all is no client (None): the view decides whether it needs one. Wrong
    credentials are `invalid_client` (401) whatever the endpoint.
    """

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        body = validated(ClientAuthInput, request.data)
        body_id, body_secret = body.get("client_id"), body.get("client_secret")
        assertion = body.get("client_assertion")
        if assertion or body.get("client_assertion_type"):
            if body_secret or header[:6].lower() == "basic ":
                raise errors.invalid_request("Use one client authentication method, not two.")
            if body.get("client_assertion_type") != ASSERTION_TYPE or not assertion:
                raise errors.invalid_client("Unsupported client_assertion_type.")
            client = client_assertion_authenticate(
                assertion=assertion,
                client_id=body_id,
                audiences=assertion_audiences(request),
                caller=request_caller(request),
            )
            return client, None
        if header[:6].lower() == "basic ":
            if body_secret:
                raise errors.invalid_request("Use one client authentication method, not two.")
            try:
                decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
                client_id, client_secret = (unquote_plus(part) for part in decoded.split(":", 1))
            except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
                raise errors.invalid_client("Malformed HTTP Basic credentials.") from exc
            if "\x00" in client_id or "\x00" in client_secret:
                raise errors.invalid_client("Malformed HTTP Basic credentials.")
        elif body_id and body_secret:
            client_id, client_secret = body_id, body_secret
        else:
            return None
        client = service_client_authenticate(
            client_id=client_id,
            client_secret=client_secret,
            caller=request_caller(request),
            recent=grant_of(request) == "client_credentials",
        )
        return client, None

    def authenticate_header(self, request) -> str:
        return 'Basic realm="warden"'


def request_caller(request) -> Caller:
    """caller_of, worked out once per request: reading the client's IP through allauth's
    adapter costs ~35 us, and the token endpoint needs it here and in its view."""
    plain = getattr(request, "_request", request)
    caller = getattr(plain, "_warden_caller", None)
    if caller is None:
        caller = plain._warden_caller = caller_of(request)
    return caller


def grant_of(request) -> str | None:
    """The body's grant_type, if it names one (the token endpoint's)."""
    grant = request.data.get("grant_type") if hasattr(request.data, "get") else None
    return grant if isinstance(grant, str) else None


def assertion_audiences(request) -> list[str]:
    """What an assertion's `aud` may be: the issuer, or the token endpoint's URL (as the issuer
    states it, or as this request reached it)."""
    path = reverse("api:token")
    return [
        settings.WARDEN_ISSUER,
        settings.WARDEN_ISSUER.rstrip("/") + path,
        request.build_absolute_uri(path),
    ]


def client_of(request) -> ServiceClient | None:
    """The client that ClientAuthentication authenticated, if the request named one."""
    user = request.user
    return user if isinstance(user, ServiceClient) else None


def client_required(request) -> ServiceClient:
    """The authenticated client, or invalid_client when the request named none."""
    client = client_of(request)
    if client is None:
        raise errors.invalid_client("Client authentication is required.")
    return client


class PublicClientAuthentication(authentication.BaseAuthentication):
    """A public OpenID client (no secret) names itself with `client_id` (RFC 6749 §2.3:
    `token_endpoint_auth_method` "none"), for the grants PKCE or a device code protect.

    Tried after ClientAuthentication, so any secret given is checked there first. It names a
    client, it proves nothing: the grants it is allowed for bind their tokens to that client.
    """

    grants = frozenset(
        {"authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"}
    )

    def applies(self, request) -> bool:
        return grant_of(request) in self.grants

    def authenticate(self, request):
        data = validated(ClientAuthInput, request.data)
        if not data.get("client_id") or not self.applies(request):
            return None
        oidc = oidc_client_get(data["client_id"])
        if oidc is None or not oidc.public:
            return None  # a confidential client without its secret: the grant decides
        return oidc.client, None


class NamedClientAuthentication(PublicClientAuthentication):
    """The same, for endpoints that are all about one public client (device authorization,
    PAR): no grant_type to look at."""

    def applies(self, request) -> bool:
        return True
