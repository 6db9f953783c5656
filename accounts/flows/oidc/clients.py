"""OpenID clients: registration, lookup, and the redirect origins the CSP must allow."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts import tokens
from accounts.audit import audit_record
from accounts.flows.clients import service_client_create
from accounts.models import ServiceClient
from oidc.models import OidcClient

SCOPES = ("openid", "profile", "email", "roles", "offline_access")
GRANTS = (
    "authorization_code",
    "refresh_token",
    "urn:ietf:params:oauth:grant-type:device_code",
    "client_credentials",  # the app's own token; confidential apps only
)
_ORIGINS_KEY = "oidc:redirect-origins"
_ORIGINS_TTL = 60


def redirect_uri_check(uri: str) -> str:
    """A registrable redirect URI: absolute, no fragment; http only for loopback hosts."""
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        raise ValidationError(f"{uri!r} must be an absolute http(s) URL without a fragment.")
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ValidationError(f"{uri!r}: plain http is allowed only for loopback addresses.")
    return uri


def oidc_client_create(
    *,
    name: str,
    redirect_uris: list[str],
    public: bool = False,
    first_party: bool = False,
    post_logout_redirect_uris: list[str] | None = None,
    backchannel_logout_uri: str = "",
    scopes: list[str] | None = None,
    grant_types: list[str] | None = None,
    logo_uri: str = "",
    require_par: bool = False,
) -> tuple[ServiceClient, str | None]:
    """Register an app; its secret (None for a public client) is returned once."""
    if not redirect_uris and "urn:ietf:params:oauth:grant-type:device_code" not in (
        grant_types or []
    ):
        raise ValidationError("An app needs at least one redirect URI.")
    if public and "client_credentials" in (grant_types or []):
        raise ValidationError("A public client has no secret for client_credentials.")
    for uri in [*redirect_uris, *(post_logout_redirect_uris or [])]:
        redirect_uri_check(uri)
    unknown = set(scopes or []) - set(SCOPES)
    if unknown:
        raise ValidationError(f"Unknown scopes: {sorted(unknown)}.")
    with transaction.atomic():
        client, secret = service_client_create(name=name, scopes=list(scopes or SCOPES))
        if public:
            # A public client has no secret: a digest of nothing any secret could match.
            client.secret_hash = tokens.secret_digest(tokens.new_secret()) + "!"
            client.save(update_fields=["secret_hash"])
            secret = None
        OidcClient.objects.create(
            client=client,
            public=public,
            redirect_uris=list(redirect_uris),
            post_logout_redirect_uris=list(post_logout_redirect_uris or []),
            backchannel_logout_uri=backchannel_logout_uri,
            grant_types=list(grant_types or ["authorization_code", "refresh_token"]),
            first_party=first_party,
            logo_uri=logo_uri,
            require_par=require_par,
        )
        audit_record(
            type="oidc_client_created",
            client=client,
            target=client.client_id,
            details={"public": public, "redirect_uris": list(redirect_uris)},
        )
    return client, secret


def oidc_client_get(client_id: str | None) -> OidcClient | None:
    """The active app with this client_id, or None."""
    if not client_id or not isinstance(client_id, str) or len(client_id) > 64:
        return None
    return (
        OidcClient.objects.select_related("client")
        .filter(client__client_id=client_id, client__is_active=True)
        .first()
    )


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


def redirect_origins() -> list[str]:
    """Origins of every registered redirect and post-logout URI, for the CSP's form-action:
    Chromium applies form-action to the redirects that follow a form POST, so the sign-in and
    consent forms' redirect back to an app needs its origin listed. Cached (shared cache when
    there is one), dropped whenever a client changes."""
    found = cache.get(_ORIGINS_KEY)
    if found is None:
        origins = set()
        for uris, logout_uris in OidcClient.objects.filter(client__is_active=True).values_list(
            "redirect_uris", "post_logout_redirect_uris"
        ):
            origins.update(_origin(u) for u in [*uris, *logout_uris] if isinstance(u, str))
        found = sorted(origins)
        cache.set(_ORIGINS_KEY, found, _ORIGINS_TTL)
    return found


def redirect_origins_forget() -> None:
    transaction.on_commit(lambda: cache.delete(_ORIGINS_KEY))
