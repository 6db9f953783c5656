"""Single sign-on, the account page's apps, RP-initiated and back-channel logout."""

import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs

import jwt
import pytest

from accounts.flows.oidc.clients import oidc_client_create
from accounts.models import AuthSession
from tests.oidc.conftest import APP_CALLBACK, authorize, query_of
from tests.oidc.test_code_flow import code_for, exchange, jwk_key


def signed_in(api, browser, web_app, params) -> dict:
    _, secret = web_app
    body = exchange(api, params, code_for(browser, params), secret=secret).json()
    api.credentials()
    return body


def live(api, access_token) -> bool:
    answer = api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {access_token}")
    return answer.status_code == 200


def test_a_signed_in_browser_is_not_asked_again_by_the_next_app(browser, authorize_params):
    other, _ = oidc_client_create(name="Tracker", redirect_uris=[APP_CALLBACK], first_party=True)
    assert authorize(browser, authorize_params).status_code == 302
    answer = browser.get("/oidc/authorize", {**authorize_params, "client_id": other.client_id})
    assert answer.status_code == 302 and "code" in query_of(answer["Location"])


def test_account_page_lists_the_app_and_removing_it_ends_its_tokens(
    api, browser, web_app, authorize_params
):
    body = signed_in(api, browser, web_app, authorize_params)
    page = browser.get("/accounts/profile/")
    assert b"Wiki" in page.content and b"Remove access" in page.content
    client, _ = web_app
    assert browser.post(f"/oidc/apps/{client.client_id}/revoke").status_code == 302
    assert not live(api, body["access_token"])
    refused = api.post(
        "/api/auth/token",
        {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        format="json",
    )
    assert refused.status_code in (400, 401)
    # Consent is gone too: the next sign-in asks again.
    assert b'id="consent"' in browser.get("/oidc/authorize", authorize_params).content


def test_signing_out_of_warden_ends_the_apps_sessions(api, browser, web_app, authorize_params):
    body = signed_in(api, browser, web_app, authorize_params)
    assert live(api, body["access_token"])
    browser.post("/accounts/logout/")
    assert not live(api, body["access_token"])


def test_rp_initiated_logout_with_id_token_hint(api, browser, web_app, authorize_params):
    body = signed_in(api, browser, web_app, authorize_params)
    answer = browser.get(
        "/oidc/logout",
        {
            "id_token_hint": body["id_token"],
            "post_logout_redirect_uri": "https://app.example.com/bye",
            "state": "bye-1",
        },
    )
    assert answer.status_code == 302
    assert answer["Location"].startswith("https://app.example.com/bye?state=bye-1")
    assert not live(api, body["access_token"])
    assert "_auth_user_id" not in browser.session


def test_rp_logout_refuses_an_unregistered_post_logout_uri(api, browser, web_app, authorize_params):
    body = signed_in(api, browser, web_app, authorize_params)
    answer = browser.get(
        "/oidc/logout",
        {"id_token_hint": body["id_token"], "post_logout_redirect_uri": "https://evil.example/"},
    )
    assert answer.status_code == 400 and "Location" not in answer
    assert live(api, body["access_token"])


def test_rp_logout_without_a_hint_asks_first(api, browser, web_app, authorize_params):
    body = signed_in(api, browser, web_app, authorize_params)
    page = browser.get("/oidc/logout")
    assert page.status_code == 200 and b'id="logout"' in page.content
    assert live(api, body["access_token"])
    done = browser.post("/oidc/logout", {"confirm": "yes"})
    assert done.status_code == 200 and b"signed out" in done.content
    assert not live(api, body["access_token"])


class _Receiver(BaseHTTPRequestHandler):
    tokens: list[str] = []
    failures_left = 0

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        form = parse_qs(self.rfile.read(length).decode())
        if _Receiver.failures_left:
            _Receiver.failures_left -= 1
            self.send_response(503)
        else:
            _Receiver.tokens.append(form["logout_token"][0])
            self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    _Receiver.tokens, _Receiver.failures_left = [], 1  # the first delivery fails: retried
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/backchannel"
    server.shutdown()


def test_back_channel_logout_tells_the_app_when_its_session_ends(
    api, browser, receiver, django_capture_on_commit_callbacks
):
    client, secret = oidc_client_create(
        name="Portal", redirect_uris=[APP_CALLBACK], backchannel_logout_uri=receiver
    )
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": APP_CALLBACK,
        "scope": "openid",
        "state": "s",
    }
    body = exchange(api, params, code_for(browser, params), secret=secret).json()
    with django_capture_on_commit_callbacks(execute=True):
        session = AuthSession.objects.select_related("user").get()
        from accounts.flows.sessions import session_revoke

        session_revoke(session=session, reason="admin")
    deadline = time.monotonic() + 10
    while not _Receiver.tokens and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _Receiver.tokens, "no logout token arrived"
    token = _Receiver.tokens[0]
    key, header = jwk_key(api, token)
    assert header["typ"] == "logout+jwt"
    claims = jwt.decode(token, key, algorithms=[header["alg"]], audience=client.client_id)
    assert claims["sid"] == str(session.pk)
    assert "http://schemas.openid.net/event/backchannel-logout" in claims["events"]
    assert "nonce" not in claims
    id_claims = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert claims["sub"] == id_claims["sub"]
