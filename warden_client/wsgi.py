"""WSGI middleware: put the verified caller in environ["warden.identity"]; role/scope guards."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from typing import Any

from warden_client.errors import InvalidToken, WardenUnavailable
from warden_client.identity import Identity
from warden_client.verifier import TokenVerifier

ENVIRON_KEY = "warden.identity"
GATEWAY_HEADERS = {
    "X-User-Id": "HTTP_X_USER_ID",
    "X-User-Email": "HTTP_X_USER_EMAIL",
    "X-User-Roles": "HTTP_X_USER_ROLES",
}
WsgiApp = Callable[[dict, Callable], Iterable[bytes]]


def bearer_token(authorization: str | None) -> str | None:
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def identity_of(environ: dict) -> Identity | None:
    return environ.get(ENVIRON_KEY)


def json_response(
    start_response: Callable, status: str, body: dict, headers: Iterable[tuple[str, str]] = ()
) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(
        status,
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
            ("Cache-Control", "no-store"),
            *headers,
        ],
    )
    return [payload]


def unauthorized(start_response: Callable, reason: str | None) -> list[bytes]:
    # RFC 6750 §3.1: no error code when no token was presented.
    challenge = 'Bearer error="invalid_token"' if reason else "Bearer"
    return json_response(
        start_response,
        "401 Unauthorized",
        {"error": "invalid_token", "error_description": reason or "A bearer token is required."},
        [("WWW-Authenticate", challenge)],
    )


class WardenMiddleware:
    """Verifies `Authorization: Bearer` with a TokenVerifier (locally; `online` to also ask
    Warden). A bad token answers 401; no token passes through without an identity unless
    `required`."""

    def __init__(
        self, app: WsgiApp, verifier: TokenVerifier, *, online: bool = False, required=False
    ) -> None:
        self.app = app
        self.verifier = verifier
        self.online = online
        self.required = required

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        environ[ENVIRON_KEY] = None
        token = bearer_token(environ.get("HTTP_AUTHORIZATION"))
        if token is None:
            if self.required:
                return unauthorized(start_response, None)
            return self.app(environ, start_response)
        try:
            environ[ENVIRON_KEY] = self.verifier.verify(token, online=self.online)
        except InvalidToken as exc:
            return unauthorized(start_response, exc.reason)
        except WardenUnavailable:
            return json_response(
                start_response,
                "503 Service Unavailable",
                {"error": "temporarily_unavailable", "error_description": "Cannot verify now."},
                [("Retry-After", "5")],
            )
        return self.app(environ, start_response)


class GatewayHeadersMiddleware:
    """Reads the identity the Warden gateway forwards (X-User-Id, -Email, -Roles).

    Only for services reachable solely through that gateway, which verifies the token and
    replaces any client-supplied X-User-* headers: anyone who can reach the service directly
    can claim any identity. Services reachable otherwise use WardenMiddleware.
    """

    def __init__(self, app: WsgiApp, *, required: bool = False) -> None:
        self.app = app
        self.required = required

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        headers = {name: environ.get(key, "") for name, key in GATEWAY_HEADERS.items()}
        environ[ENVIRON_KEY] = Identity.from_gateway_headers(headers)
        if environ[ENVIRON_KEY] is None and self.required:
            return unauthorized(start_response, None)
        return self.app(environ, start_response)


def _guard(check: Callable[[Identity], str | None]) -> Callable[[WsgiApp], WsgiApp]:
    def decorate(app: WsgiApp) -> WsgiApp:
        @functools.wraps(app)
        def guarded(environ: dict, start_response: Callable) -> Any:
            identity = identity_of(environ)
            if identity is None:
                return unauthorized(start_response, None)
            problem = check(identity)
            if problem:
                return json_response(
                    start_response,
                    "403 Forbidden",
                    {"error": "forbidden", "error_description": problem},
                )
            return app(environ, start_response)

        return guarded

    return decorate


def require_roles(*roles: str) -> Callable[[WsgiApp], WsgiApp]:
    """Decorate a WSGI app: 401 without an identity, 403 unless it has every role."""
    missing = lambda identity: [r for r in roles if not identity.has_role(r)]  # noqa: E731
    return _guard(lambda i: f"requires role {', '.join(missing(i))}" if missing(i) else None)


def require_scopes(*scopes: str) -> Callable[[WsgiApp], WsgiApp]:
    """Decorate a WSGI app: 401 without an identity, 403 unless it has every scope."""
    missing = lambda identity: [s for s in scopes if not identity.has_scope(s)]  # noqa: E731
    return _guard(lambda i: f"requires scope {' '.join(missing(i))}" if missing(i) else None)
