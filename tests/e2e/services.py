"""Two small downstream services for the end-to-end tests, built on the client SDK.

"orders" sits behind the gateway and trusts the identity headers it forwards; "inventory"
verifies every token itself with TokenVerifier and wants the scope `inventory:read`.
"""

from __future__ import annotations

import requests

from warden_client import ServiceTokenClient, TokenVerifier
from warden_client.wsgi import (
    GatewayHeadersMiddleware,
    WardenMiddleware,
    identity_of,
    json_response,
    require_roles,
    require_scopes,
)

STOCK = {"widget": 12, "gadget": 0}


def _route(routes: dict):
    def app(environ, start_response):
        handler = routes.get(environ.get("PATH_INFO", ""))
        if handler is None:
            return json_response(start_response, "404 Not Found", {"error": "not_found"})
        return handler(environ, start_response)

    return app


def make_orders_app(*, inventory_url: str, service_tokens: ServiceTokenClient):
    @require_roles()
    def my_orders(environ, start_response):
        identity = identity_of(environ)
        body = {
            "user": identity.sub,
            "email": identity.email,
            "roles": sorted(identity.roles),
            "orders": [{"id": 1, "item": "widget"}],
        }
        return json_response(start_response, "200 OK", body)

    @require_roles("admin")
    def report(environ, start_response):
        return json_response(start_response, "200 OK", {"report": "every order", "orders": 1})

    @require_roles()
    def with_stock(environ, start_response):
        # East-west call with the service's own client-credentials token.
        response = requests.get(
            f"{inventory_url}/inventory/items", headers=service_tokens.auth_header(), timeout=10
        )
        body = {
            "user": identity_of(environ).sub,
            "inventory_status": response.status_code,
            "stock": response.json(),
        }
        return json_response(start_response, "200 OK", body)

    def echo_headers(environ, start_response):
        # Unprotected: shows what identity headers, if any, reached the service.
        seen = {k: v for k, v in environ.items() if k.startswith("HTTP_X_USER")}
        return json_response(start_response, "200 OK", {"headers": seen})

    routes = {
        "/orders/": my_orders,
        "/orders/admin/report": report,
        "/orders/with-stock": with_stock,
        "/public/echo": echo_headers,
    }
    return GatewayHeadersMiddleware(_route(routes))


def make_inventory_app(*, verifier: TokenVerifier):
    @require_scopes("inventory:read")
    def items(environ, start_response):
        identity = identity_of(environ)
        body = {"caller": identity.client_id, "items": STOCK}
        return json_response(start_response, "200 OK", body)

    return WardenMiddleware(_route({"/inventory/items": items}), verifier, required=True)
