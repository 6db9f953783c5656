"""The device flow (RFC 8628), pushed authorization requests (RFC 9126), registration (7591)."""

from datetime import timedelta

from django.utils import timezone

from accounts.flows.oidc.clients import oidc_client_create
from oidc.models import DeviceAuthorization
from tests.oidc.conftest import APP_CALLBACK, query_of
from tests.oidc.test_code_flow import basic, form

DEVICE = "urn:ietf:params:oauth:grant-type:device_code"


def poll(api, cli_app, device_code):
    return form(
        api,
        "/api/auth/token",
        {"grant_type": DEVICE, "device_code": device_code, "client_id": cli_app.client_id},
    )


def test_device_flow_pending_slow_down_then_tokens(api, browser, cli_app):
    started = form(
        api, "/oidc/device_authorization", {"client_id": cli_app.client_id, "scope": "openid"}
    )
    assert started.status_code == 200, started.content
    body = started.json()
    assert body["verification_uri"] == "http://127.0.0.1:8000/oidc/device"
    assert poll(api, cli_app, body["device_code"]).json()["error"] == "authorization_pending"
    assert poll(api, cli_app, body["device_code"]).json()["error"] == "slow_down"
    page = browser.get("/oidc/device", {"user_code": body["user_code"].lower()})
    assert b"Warden CLI" in page.content
    done = browser.post("/oidc/device", {"user_code": body["user_code"], "decision": "allow"})
    assert b"allowed" in done.content
    DeviceAuthorization.objects.update(last_polled_at=timezone.now() - timedelta(minutes=1))
    tokens = poll(api, cli_app, body["device_code"])
    assert tokens.status_code == 200, tokens.content
    assert {"access_token", "refresh_token", "id_token"} <= set(tokens.json())
    DeviceAuthorization.objects.update(last_polled_at=timezone.now() - timedelta(minutes=1))
    assert poll(api, cli_app, body["device_code"]).json()["error"] == "invalid_grant"


def test_device_flow_denied_and_expired(api, browser, cli_app):
    body = form(api, "/oidc/device_authorization", {"client_id": cli_app.client_id}).json()
    browser.post("/oidc/device", {"user_code": body["user_code"], "decision": "deny"})
    assert poll(api, cli_app, body["device_code"]).json()["error"] == "access_denied"
    DeviceAuthorization.objects.update(expires_at=timezone.now())
    assert poll(api, cli_app, body["device_code"]).json()["error"] == "expired_token"


def test_device_flow_needs_the_grant(api, web_app):
    client, secret = web_app
    answer = form(
        api, "/oidc/device_authorization", {}, HTTP_AUTHORIZATION=basic(client.client_id, secret)
    )
    assert answer.json()["error"] == "unauthorized_client"


def test_pushed_request_then_authorize(api, browser, web_app, authorize_params):
    client, secret = web_app
    params = {k: v for k, v in authorize_params.items() if not k.startswith("_")}
    pushed = form(api, "/oidc/par", params, HTTP_AUTHORIZATION=basic(client.client_id, secret))
    assert pushed.status_code == 201, pushed.content
    request_uri = pushed.json()["request_uri"]
    query = {"client_id": client.client_id, "request_uri": request_uri}
    consent = browser.get("/oidc/authorize", query)
    assert b'id="consent"' in consent.content
    answer = browser.post("/oidc/authorize/consent", {**query, "decision": "allow"})
    assert answer.status_code == 302 and "code" in query_of(answer["Location"])
    again = browser.get("/oidc/authorize", query)  # used once
    assert again.status_code == 400


def test_pushed_request_is_checked_when_pushed(api, web_app, authorize_params):
    client, secret = web_app
    params = {k: v for k, v in authorize_params.items() if not k.startswith("_")}
    params["code_challenge_method"] = "plain"
    pushed = form(api, "/oidc/par", params, HTTP_AUTHORIZATION=basic(client.client_id, secret))
    assert pushed.status_code == 400 and pushed.json()["error"] == "invalid_request"


def test_client_that_requires_par_refuses_plain_requests(browser, db):
    client, _ = oidc_client_create(name="Bank", redirect_uris=[APP_CALLBACK], require_par=True)
    answer = browser.get(
        "/oidc/authorize",
        {
            "client_id": client.client_id,
            "redirect_uri": APP_CALLBACK,
            "response_type": "code",
            "scope": "openid",
        },
    )
    assert query_of(answer["Location"])["error"] == "invalid_request"


def test_dynamic_registration_is_off_by_default(api, db, settings):
    body = {"client_name": "x", "redirect_uris": ["https://x.example/cb"]}
    assert api.post("/oidc/register", body, format="json").status_code == 404
    settings.WARDEN_OIDC_DYNAMIC_REGISTRATION = True
    answer = api.post("/oidc/register", body, format="json")
    assert answer.status_code == 201 and answer.json()["client_secret"]
    meta = api.get("/.well-known/openid-configuration").json()
    assert meta["registration_endpoint"] == "http://127.0.0.1:8000/oidc/register"
