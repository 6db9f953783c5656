"""End to end on loopback: a user and a service through nginx, Warden, orders and inventory."""

import pytest
import requests

from tests.conftest import PASSWORD
from tests.e2e import harness
from warden_client import SessionRevoked, UserTokenClient

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.nginx]
TIMEOUT = 10


def _login(gateway, email="ann@example.com") -> dict:
    response = requests.post(
        f"{gateway['url']}/api/auth/login",
        json={"email": email, "password": PASSWORD},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    return response.json()


def _get(gateway, path: str, token: str | None = None, **headers) -> requests.Response:
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.get(f"{gateway['url']}{path}", headers=headers, timeout=TIMEOUT)


def test_users_call_through_the_gateway_reaches_orders_with_their_identity(gateway):
    pair = _login(gateway)
    response = _get(gateway, "/orders/", pair["access_token"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["email"] == "ann@example.com"
    assert body["roles"] == ["user"]
    me = requests.get(
        f"{gateway['url']}/api/auth/me",
        headers={"Authorization": f"Bearer {pair['access_token']}"},
        timeout=TIMEOUT,
    )
    assert body["user"] == me.json()["sub"]


def test_sdk_user_client_signs_in_and_calls_through_the_gateway(gateway):
    client = UserTokenClient(base_url=gateway["url"])
    client.login("ann@example.com", PASSWORD)
    response = requests.get(f"{gateway['url']}/orders/", headers=client.auth_header(), timeout=10)
    assert response.status_code == 200
    client.refresh()
    response = requests.get(f"{gateway['url']}/orders/", headers=client.auth_header(), timeout=10)
    assert response.status_code == 200
    client.logout()


def test_admin_route_answers_403_to_a_user_without_the_admin_role(gateway):
    ann = _login(gateway)["access_token"]
    root = _login(gateway, "root@example.com")["access_token"]
    refused = _get(gateway, "/orders/admin/report", ann)
    assert refused.status_code == 403
    assert refused.json()["error_description"] == "requires role admin"
    assert _get(gateway, "/orders/admin/report", root).status_code == 200


def test_client_supplied_identity_headers_never_reach_the_service(gateway):
    ann = _login(gateway)["access_token"]
    forged = {"X-User-Id": "someone-else", "X-User-Roles": "admin", "X-User-Email": "x@evil"}
    response = _get(gateway, "/orders/", ann, **forged)
    assert response.json()["roles"] == ["user"] and response.json()["email"] == "ann@example.com"
    assert _get(gateway, "/orders/admin/report", ann, **forged).status_code == 403
    assert _get(gateway, "/orders/admin/report", None, **forged).status_code == 401
    echoed = _get(gateway, "/public/echo", None, **forged).json()
    assert echoed == {"headers": {}}


def test_missing_or_bad_token_is_401_with_the_bearer_challenge(gateway):
    missing = _get(gateway, "/orders/")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert "error=" not in missing.headers["WWW-Authenticate"]
    assert missing.json()["error"] == "invalid_token"
    bad = _get(gateway, "/orders/", "not-a-token")
    assert bad.status_code == 401
    assert 'error="invalid_token"' in bad.headers["WWW-Authenticate"]


def test_refresh_token_is_refused_at_the_gateway(gateway):
    pair = _login(gateway)
    assert _get(gateway, "/orders/", pair["refresh_token"]).status_code == 401


def test_orders_calls_inventory_with_a_client_credentials_token(gateway):
    ann = _login(gateway)["access_token"]
    response = _get(gateway, "/orders/with-stock", ann)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["inventory_status"] == 200
    assert body["stock"]["caller"] == gateway["orders_client_id"]
    assert body["stock"]["items"]["widget"] == 12


def test_inventory_refuses_user_tokens_and_anonymous_callers(gateway):
    ann = _login(gateway)["access_token"]
    items = f"{gateway['inventory']}/inventory/items"
    as_user = requests.get(items, headers={"Authorization": f"Bearer {ann}"}, timeout=TIMEOUT)
    assert as_user.status_code == 403
    assert requests.get(items, timeout=TIMEOUT).status_code == 401


def test_after_logout_the_next_gateway_call_is_401(gateway):
    pair = _login(gateway)
    assert _get(gateway, "/orders/", pair["access_token"]).status_code == 200
    logout = requests.post(
        f"{gateway['url']}/api/auth/logout",
        json={"refresh_token": pair["refresh_token"]},
        timeout=TIMEOUT,
    )
    assert logout.status_code == 204
    after = _get(gateway, "/orders/", pair["access_token"])
    assert after.status_code == 401
    assert 'error="invalid_token"' in after.headers["WWW-Authenticate"]


def test_a_forged_forwarded_for_does_not_change_the_recorded_client_address(gateway):
    response = requests.post(
        f"{gateway['url']}/api/auth/login",
        json={"email": "ann@example.com", "password": PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.66"},
        timeout=TIMEOUT,
    )
    access = response.json()["access_token"]
    sessions = _get(gateway, "/api/auth/sessions", access).json()
    current = next(s for s in sessions if s["current"])
    assert current["ip"] == "127.0.0.1"


def test_user_client_request_refreshes_once_on_401_then_reports_the_revoked_session(gateway):
    ann = UserTokenClient(base_url=gateway["url"])
    ann.login("ann@example.com", PASSWORD)
    assert ann.request("GET", f"{gateway['url']}/orders/").status_code == 200
    # The same person signs out everywhere from another device: this session ends too.
    sessions = _get(gateway, "/api/auth/sessions", ann.access_token()).json()
    other = UserTokenClient(base_url=gateway["url"])
    other.login("ann@example.com", PASSWORD)
    for session in sessions:
        requests.delete(
            f"{gateway['url']}/api/auth/sessions/{session['id']}",
            headers=other.auth_header(),
            timeout=TIMEOUT,
        )
    with pytest.raises(SessionRevoked):
        ann.request("GET", f"{gateway['url']}/orders/")
    assert ann.refresh_count == 1
    assert other.request("GET", f"{gateway['url']}/orders/").status_code == 200


def test_post_with_a_body_is_authorized_like_a_get(gateway):
    ann = _login(gateway)["access_token"]
    response = requests.post(
        f"{gateway['url']}/orders/",
        json={"item": "widget", "token": "not-this-one"},
        headers={"Authorization": f"Bearer {ann}"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    assert response.json()["email"] == "ann@example.com"


def test_too_many_invalid_tokens_get_warden_429_through_the_gateway(gateway, fleet_env):
    try:
        statuses = [_get(gateway, "/orders/", f"guess-{n}").status_code for n in range(70)]
        assert statuses[0] == 401
        assert 429 in statuses
        limited = _get(gateway, "/orders/", "guess-again")
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) > 0
        assert limited.json()["error"] == "rate_limited"
        # A valid token still goes through: only failures are counted.
        assert _get(gateway, "/orders/", _login(gateway)["access_token"]).status_code == 200
    finally:
        harness.forget_cache(fleet_env["env"]["REDIS_URL"], "warden-e2e")
