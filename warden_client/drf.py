"""Django REST framework adapters: bearer-token authentication and role/scope permissions."""

from __future__ import annotations

import threading

from rest_framework import authentication, exceptions, permissions

from warden_client.errors import InvalidToken, WardenUnavailable
from warden_client.identity import Identity
from warden_client.verifier import TokenVerifier
from warden_client.wsgi import bearer_token

_default: TokenVerifier | None = None
_default_lock = threading.Lock()


def default_verifier() -> TokenVerifier:
    """One verifier per process, built from the Django setting WARDEN_CLIENT (a dict with
    ISSUER, AUDIENCE and optionally BASE_URL, CLIENT_ID, CLIENT_SECRET, LEEWAY)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                from django.conf import settings

                conf = getattr(settings, "WARDEN_CLIENT", {})
                if not conf.get("ISSUER") or not conf.get("AUDIENCE"):
                    raise RuntimeError(
                        "WARDEN_CLIENT needs ISSUER and AUDIENCE (this service's resource "
                        "identifier): a token minted for another service must not pass here."
                    )
                _default = TokenVerifier(
                    issuer=conf["ISSUER"],
                    audience=conf["AUDIENCE"],
                    base_url=conf.get("BASE_URL"),
                    client_id=conf.get("CLIENT_ID"),
                    client_secret=conf.get("CLIENT_SECRET"),
                    leeway=conf.get("LEEWAY", 30),
                )
    return _default


class WardenUnreachable(exceptions.APIException):
    status_code = 503
    default_detail = "Cannot verify the token now; try again shortly."
    default_code = "temporarily_unavailable"


class WardenAuthentication(authentication.BaseAuthentication):
    """`request.user` and `request.auth` become the verified Identity.

    Set `verifier` on a subclass, or configure WARDEN_CLIENT in settings. `online = True`
    also asks Warden on every request (revocation seen at once, one call per request).
    """

    verifier: TokenVerifier | None = None
    online = False

    def authenticate(self, request) -> tuple[Identity, Identity] | None:
        token = bearer_token(request.META.get("HTTP_AUTHORIZATION"))
        if token is None:
            return None
        verifier = self.verifier or default_verifier()
        try:
            identity = verifier.verify(token, online=self.online)
        except InvalidToken as exc:
            raise exceptions.AuthenticationFailed(exc.reason, code="invalid_token") from exc
        except WardenUnavailable as exc:
            raise WardenUnreachable() from exc
        return identity, identity

    def authenticate_header(self, request) -> str:
        return 'Bearer error="invalid_token"'


def _identity(request) -> Identity | None:
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, Identity) else None


def _requiring(kind: str, wanted: tuple[str, ...], held) -> type[permissions.BasePermission]:
    class Requires(permissions.BasePermission):
        message = f"Requires {kind} {' '.join(wanted)}."

        def has_permission(self, request, view) -> bool:
            identity = _identity(request)
            return identity is not None and all(held(identity, w) for w in wanted)

    Requires.__name__ = f"Has{kind.title()}s"
    return Requires


def require_roles(*roles: str) -> type[permissions.BasePermission]:
    """A permission class: the verified caller has every one of `roles`."""
    return _requiring("role", roles, Identity.has_role)


def require_scopes(*scopes: str) -> type[permissions.BasePermission]:
    """A permission class: the verified caller's token carries every one of `scopes`."""
    return _requiring("scope", scopes, Identity.has_scope)
