"""Relying-party libraries against a live Warden: Authlib (code + PKCE, userinfo, refresh,
ID token checked against the JWKS), and mozilla-django-oidc in a Django app of its own
(tests/oidc/mozilla_rp/, run as a server). The browser's part is a requests session on
Warden's own sign-in form (field names `login`, `password`, CSRF included)."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt
import requests

from tests.conftest import PASSWORD
from tests.oidc.live import ROOT, USER_EMAIL, LiveWarden
from tests.test_google_browser import free_port

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


@contextlib.contextmanager
def mozilla_rp(warden: LiveWarden, tmp_path: Path) -> Iterator[str]:
    """The mozilla-django-oidc app registered in `warden` and serving on a free loopback port
    with its own SQLite file; yields its base URL."""
    base = f"http://127.0.0.1:{free_port()}"
    client = warden.register(
        f"mozilla-django-oidc {base}", "--redirect-uri", f"{base}/oidc/callback/"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="tests.oidc.mozilla_rp.settings",
        RP_DATABASE=str(tmp_path / "rp.sqlite3"),
        RP_WARDEN_ISSUER=warden.base,
        RP_CLIENT_ID=client["client_id"],
        RP_CLIENT_SECRET=client["client_secret"],
    )
    django = [sys.executable, "-m", "django"]
    subprocess.run(
        [*django, "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    log_path = tmp_path / "rp.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [*django, "runserver", base.removeprefix("http://"), "--noreload"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(f"{base}/oidc/authenticate/", allow_redirects=False, timeout=1):
                    break
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log_path.read_text()[-3000:])
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def test_mozilla_django_oidc_signs_a_user_in_through_warden(live_warden, tmp_path):
    with mozilla_rp(live_warden, tmp_path) as rp:
        browser = requests.Session()
        to_login = browser.get(f"{rp}/", allow_redirects=False)
        assert to_login.status_code == 302 and "/oidc/authenticate/" in to_login.headers["Location"]
        to_warden = browser.get(rp + to_login.headers["Location"], allow_redirects=False)
        authorize_url = to_warden.headers["Location"]
        assert authorize_url.startswith(f"{live_warden.base}/oidc/authorize?")
        query = parse_qs(urlsplit(authorize_url).query)
        assert query["code_challenge_method"] == ["S256"] and query["nonce"]

        back = browser_sign_in(authorize_url, session=browser)
        assert back.startswith(f"{rp}/oidc/callback/?") and "code=" in back
        # The app exchanges the code (client_secret_post + PKCE), checks the ID token against
        # Warden's JWKS and nonce, reads userinfo, and signs its own user in.
        page = browser.get(back, timeout=30)

        assert page.status_code == 200 and page.url == f"{rp}/", (page.url, page.text[:500])
        assert f"<b id='email'>{USER_EMAIL}</b>" in page.text
        # Another browser with only the Warden session cookie: neither the password nor the
        # consent is asked again (SSO, remembered consent), and the app signs it in.
        again = requests.Session()
        again.cookies.update({"sessionid": browser.cookies.get("sessionid")})
        second = again.get(rp + to_login.headers["Location"], allow_redirects=True, timeout=30)
        assert second.url == f"{rp}/" and USER_EMAIL in second.text, second.url
