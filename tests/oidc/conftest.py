"""OpenID fixtures: registered apps, a browser signed in to Warden, PKCE pairs."""

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from accounts.flows.oidc.clients import oidc_client_create
from tests.conftest import PASSWORD

APP_CALLBACK = "https://app.example.com/callback"
CLI_CALLBACK = "http://127.0.0.1:8765/callback"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def web_app(db):
    """A confidential third-party app: (ServiceClient, secret)."""
    return oidc_client_create(
        name="Wiki",
        redirect_uris=[APP_CALLBACK],
        post_logout_redirect_uris=["https://app.example.com/bye"],
    )


@pytest.fixture
def cli_app(db):
    client, _ = oidc_client_create(
        name="Warden CLI",
        redirect_uris=[CLI_CALLBACK],
        public=True,
        first_party=True,
        grant_types=[
            "authorization_code",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code",
        ],
    )
    return client


@pytest.fixture
def browser(user):
    """A browser signed in to Warden through the real sign-in form (so `amr` is known)."""
    browser = Client()
    answer = browser.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert answer.status_code == 302, answer.content
    return browser


@pytest.fixture
def authorize_params(web_app):
    client, _ = web_app
    verifier, challenge = pkce_pair()
    return {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": APP_CALLBACK,
        "scope": "openid email profile roles",
        "state": "st-123",
        "nonce": "n-456",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "_verifier": verifier,
    }


def authorize(browser, params: dict, *, consent: bool = True):
    """Run the authorization request in `browser`, allowing consent when asked; the answer
    (a redirect back to the app, normally)."""
    query = {k: v for k, v in params.items() if not k.startswith("_")}
    answer = browser.get("/oidc/authorize", query)
    if consent and answer.status_code == 200 and b'id="consent"' in answer.content:
        answer = browser.post("/oidc/authorize/consent", {**query, "decision": "allow"})
    return answer


@pytest.fixture(scope="module")
def live_warden(tmp_path_factory):
    from tests.oidc.live import live_warden_start, live_warden_stop

    warden = live_warden_start(tmp_path_factory.mktemp("warden"))
    yield warden
    live_warden_stop(warden)
