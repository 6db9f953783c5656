"""The Google stand-in itself: it refuses what Google refuses, or the flow tests prove little."""

import jwt
import requests

from tests.google_standin import pkce_challenge

REDIRECT = "http://testserver/accounts/google/login/callback/"
VERIFIER = "a-long-enough-pkce-code-verifier-0123456789abcdefghij"


def code_for(google, *, challenge=VERIFIER) -> str:
    user = google.user(email="nia@example.com")
    params = {
        "client_id": google.client_id,
        "redirect_uri": REDIRECT,
        "code_challenge": pkce_challenge(challenge),
        "code_challenge_method": "S256",
        "nonce": "n-0S6",
    }
    return google.grant_code(params=params, user=user)


def exchange(google, code, **changes):
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": google.client_id,
        "client_secret": google.client_secret,
        "code_verifier": VERIFIER,
        **changes,
    }
    return requests.post(f"{google.base_url}/token", data=form, timeout=5)


def test_code_with_the_right_verifier_gets_a_signed_id_token_once(google):
    code = code_for(google)
    response = exchange(google, code)

    assert response.status_code == 200
    id_token = response.json()["id_token"]
    certs = requests.get(f"{google.base_url}/oauth2/v3/certs", timeout=5).json()
    key = jwt.PyJWK(certs["keys"][0]).key
    claims = jwt.decode(id_token, key, algorithms=["RS256"], audience=google.client_id)
    assert claims["iss"] == google.base_url and claims["nonce"] == "n-0S6"
    assert claims["email"] == "nia@example.com" and claims["email_verified"] is True
    assert exchange(google, code).json()["error"] == "invalid_grant"  # codes are single-use


def test_wrong_pkce_verifier_is_refused(google):
    response = exchange(google, code_for(google), code_verifier="x" * 50)
    assert response.status_code == 400
    assert response.json()["error_description"] == "PKCE verification failed"


def test_wrong_client_secret_or_redirect_uri_is_refused(google):
    assert exchange(google, code_for(google), client_secret="guess").status_code == 401
    response = exchange(google, code_for(google), redirect_uri="http://evil.example/cb")
    assert response.json()["error"] == "redirect_uri_mismatch"


def test_consent_page_refuses_an_unknown_client(google):
    page = requests.get(
        f"{google.base_url}/o/oauth2/v2/auth",
        params={"client_id": "other", "response_type": "code", "redirect_uri": REDIRECT},
        timeout=5,
    )
    assert page.status_code == 400 and "invalid_client" in page.text
