"""Relying-party libraries against a live Warden: Authlib (code + PKCE, userinfo, refresh,
ID token checked against the JWKS). The browser's part is a requests session on Warden's own
sign-in form (field names `login`, `password`, CSRF included)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import jwt
import requests

from tests.conftest import PASSWORD
from tests.oidc.live import USER_EMAIL

CALLBACK = "http://127.0.0.1:9/callback"  # never contacted: the code is read off the redirect


def _csrf(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def browser_sign_in(url: str, *, session: requests.Session | None = None) -> str:
    """Follow an authorization URL as a browser would, signing in and allowing; return the
    redirect back to the app (not followed)."""
    session = session or requests.Session()
    answer = session.get(url, allow_redirects=True)
    if "/accounts/login/" in answer.url:
        answer = session.post(
            answer.url,
            data={
                "login": USER_EMAIL,
                "password": PASSWORD,
                "csrfmiddlewaretoken": _csrf(answer.text),
            },
            headers={"Referer": answer.url},
            allow_redirects=False,
        )
        while answer.is_redirect and answer.headers["Location"].startswith("/"):
            answer = session.get(
                urlsplit(url)._replace(path="", query="").geturl() + answer.headers["Location"],
                allow_redirects=False,
            )
    if answer.status_code == 200 and 'id="consent"' in answer.text:
        fields = dict(
            re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', answer.text)
        )
        fields["decision"] = "allow"
        origin = urlsplit(url)._replace(path="", query="").geturl()
        answer = session.post(
            origin + "/oidc/authorize/consent",
            data=fields,
            headers={"Referer": origin + "/oidc/authorize"},
            allow_redirects=False,
        )
    assert answer.is_redirect, (answer.status_code, answer.text[:500])
    return answer.headers["Location"]


def test_authlib_code_flow_with_pkce(live_warden):
    from authlib.integrations.requests_client import OAuth2Session

    client = live_warden.register("Authlib app", "--redirect-uri", CALLBACK)
    meta = requests.get(f"{live_warden.base}/.well-known/openid-configuration").json()
    rp = OAuth2Session(
        client["client_id"],
        client["client_secret"],
        scope="openid email profile",
        redirect_uri=CALLBACK,
        code_challenge_method="S256",
    )
    verifier = "v" * 20 + "erifier-for-authlib-0123456789abcdef"
    url, state = rp.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce="authlib-nonce"
    )
    back = browser_sign_in(url)
    assert parse_qs(urlsplit(back).query)["state"] == [state]
    token = rp.fetch_token(
        meta["token_endpoint"], authorization_response=back, code_verifier=verifier
    )
    keys = jwt.PyJWKSet.from_dict(requests.get(meta["jwks_uri"]).json())
    header = jwt.get_unverified_header(token["id_token"])
    claims = jwt.decode(
        token["id_token"],
        keys[header["kid"]].key,
        algorithms=[header["alg"]],
        audience=client["client_id"],
        issuer=meta["issuer"],
    )
    assert claims["nonce"] == "authlib-nonce"
    assert claims["amr"] == ["pwd"] and claims["sid"]
    info = rp.get(meta["userinfo_endpoint"]).json()
    assert info["email"] == USER_EMAIL and info["given_name"] == "Ann"
    refreshed = rp.refresh_token(meta["token_endpoint"])
    assert refreshed["refresh_token"] != token["refresh_token"]


def test_wrong_redirect_uri_and_prompt_none_against_the_live_server(live_warden):
    client = live_warden.register("Strict app", "--redirect-uri", CALLBACK)
    base = f"{live_warden.base}/oidc/authorize?response_type=code&scope=openid"
    wrong = requests.get(
        f"{base}&client_id={client['client_id']}&redirect_uri=http://127.0.0.1:9/other",
        allow_redirects=False,
    )
    assert wrong.status_code == 400 and "Location" not in wrong.headers
    none = requests.get(
        f"{base}&client_id={client['client_id']}&redirect_uri={CALLBACK}&prompt=none&state=z",
        allow_redirects=False,
    )
    assert none.status_code == 302
    assert parse_qs(urlsplit(none.headers["Location"]).query)["error"] == ["login_required"]
