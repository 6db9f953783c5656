"""Authorization code + PKCE: the browser's side, the token exchange, ID tokens, userinfo."""

import base64
import hashlib
from datetime import timedelta
from urllib.parse import urlencode

import jwt
import pytest
from django.test import Client
from django.utils import timezone

from accounts.flows.oidc.authorize import digest
from accounts.models import AuditEvent, AuthSession
from oidc.models import AuthorizationCode
from tests.oidc.conftest import APP_CALLBACK, CLI_CALLBACK, authorize, pkce_pair, query_of


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def form(api, url, body, **extra):
    return api.post(url, urlencode(body), content_type="application/x-www-form-urlencoded", **extra)


def exchange(api, params, code, *, secret=None, client_id=None, **extra):
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": params["redirect_uri"],
        "code_verifier": params.get("_verifier"),
        **extra,
    }
    body = {k: v for k, v in body.items() if v is not None}
    if secret is not None:
        api.credentials(HTTP_AUTHORIZATION=basic(params["client_id"], secret))
    elif client_id:
        body["client_id"] = client_id
    return form(api, "/api/auth/token", body)


def code_for(browser, params) -> str:
    answer = authorize(browser, params)
    assert answer.status_code == 302, answer.content
    assert answer["Location"].startswith(params["redirect_uri"] + "?")
    query = query_of(answer["Location"])
    assert query["state"] == params["state"]
    return query["code"]


def jwk_key(api, token):
    keys = {k["kid"]: k for k in api.get("/.well-known/jwks.json").json()["keys"]}
    header = jwt.get_unverified_header(token)
    return jwt.PyJWK(keys[header["kid"]]).key, header


def test_code_flow_gives_warden_tokens_and_an_id_token(api, browser, web_app, authorize_params):
    client, secret = web_app
    code = code_for(browser, authorize_params)
    answer = exchange(api, authorize_params, code, secret=secret)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["refresh_token"].startswith("wrt_")
    assert body["scope"] == "openid email profile roles"
    key, header = jwk_key(api, body["id_token"])
    assert header["typ"] == "JWT"
    claims = jwt.decode(
        body["id_token"], key, algorithms=[header["alg"]], audience=client.client_id
    )
    assert claims["iss"] == "http://127.0.0.1:8000"
    assert claims["nonce"] == "n-456"
    assert claims["amr"] == ["pwd"]
    assert claims["email"] == "ann@example.com"
    assert abs(claims["auth_time"] - timezone.now().timestamp()) < 60
    digest = hashlib.sha256(body["access_token"].encode()).digest()[:16]
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    session = AuthSession.objects.get(pk=claims["sid"])
    assert session.client == client and session.method == "oidc"
    # The access token is an ordinary Warden token: verify accepts it, userinfo answers.
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {body['access_token']}"}
    api.credentials()
    assert api.get("/api/auth/verify", **bearer).status_code == 200
    info = api.get("/oidc/userinfo", **bearer).json()
    assert info == {
        "sub": claims["sub"],
        "email": "ann@example.com",
        "email_verified": True,
        "roles": ["user"],
    }
    assert api.post("/oidc/userinfo", **bearer).status_code == 200
    assert AuditEvent.objects.filter(type="login", details__method="oidc").exists()


def test_refresh_and_revocation_are_warden_s(api, browser, web_app, authorize_params):
    client, secret = web_app
    body = exchange(
        api, authorize_params, code_for(browser, authorize_params), secret=secret
    ).json()
    refreshed = form(
        api,
        "/api/auth/token",
        {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
    )
    assert refreshed.status_code == 200, refreshed.content
    api.credentials()
    # The old refresh token again, outside the grace: the whole session is revoked.
    AuthSession.objects.update(rotated_at=timezone.now() - timedelta(minutes=1))
    again = form(
        api,
        "/api/auth/token",
        {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        HTTP_AUTHORIZATION=basic(client.client_id, secret),
    )
    assert again.status_code == 400
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {refreshed.json()['access_token']}"}
    assert api.get("/oidc/userinfo", **bearer).status_code == 401


def test_refresh_of_an_openid_session_brings_a_new_id_token(
    api, browser, web_app, authorize_params
):
    from accounts.tokens.idtoken import token_hash

    client, secret = web_app
    first = exchange(api, authorize_params, code_for(browser, authorize_params), secret=secret)
    first = first.json()
    key, header = jwk_key(api, first["id_token"])
    original = jwt.decode(first["id_token"], key, [header["alg"]], audience=client.client_id)

    refreshed = form(
        api,
        "/api/auth/token",
        {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        HTTP_AUTHORIZATION=basic(client.client_id, secret),
    ).json()

    key, header = jwk_key(api, refreshed["id_token"])
    claims = jwt.decode(refreshed["id_token"], key, [header["alg"]], audience=client.client_id)
    same = ("iss", "sub", "aud", "azp", "sid", "auth_time", "amr", "email")
    assert {k: claims[k] for k in same} == {k: original[k] for k in same}
    assert claims["iat"] >= original["iat"] and claims["jti"] != original["jti"]
    assert "nonce" not in claims and original["nonce"] == "n-456"  # OIDC Core §12.2
    assert claims["at_hash"] == token_hash(refreshed["access_token"])


def test_refresh_of_a_plain_oauth_session_brings_no_id_token(api, user, web_app):
    from tests.conftest import PASSWORD

    client, secret = web_app
    signed_in = form(
        api,
        "/api/auth/token",
        {"grant_type": "password", "username": user.email, "password": PASSWORD},
        HTTP_AUTHORIZATION=basic(client.client_id, secret),
    )
    assert signed_in.status_code == 200, signed_in.content
    refreshed = form(
        api,
        "/api/auth/token",
        {"grant_type": "refresh_token", "refresh_token": signed_in.json()["refresh_token"]},
        HTTP_AUTHORIZATION=basic(client.client_id, secret),
    )
    assert refreshed.status_code == 200 and "id_token" not in refreshed.json()


def test_public_client_uses_pkce_without_a_secret(api, browser, cli_app):
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": cli_app.client_id,
        "redirect_uri": CLI_CALLBACK,
        "scope": "openid email",
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "_verifier": verifier,
    }
    code = code_for(browser, params)  # first party: no consent page
    answer = exchange(api, params, code, client_id=cli_app.client_id)
    assert answer.status_code == 200, answer.content
    refresh = form(
        api,
        "/api/auth/token",
        {
            "grant_type": "refresh_token",
            "refresh_token": answer.json()["refresh_token"],
            "client_id": cli_app.client_id,
        },
    )
    assert refresh.status_code == 200, refresh.content


def _public_tokens(api, browser, cli_app, scope="openid email") -> dict:
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": cli_app.client_id,
        "redirect_uri": CLI_CALLBACK,
        "scope": scope,
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "_verifier": verifier,
    }
    answer = exchange(api, params, code_for(browser, params), client_id=cli_app.client_id)
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_public_client_revokes_its_refresh_token_with_its_client_id(api, browser, cli_app):
    tokens = _public_tokens(api, browser, cli_app)
    body = {"token": tokens["refresh_token"], "token_type_hint": "refresh_token"}
    # Without naming itself the token is not its to end (RFC 7009 §2.1).
    assert form(api, "/api/auth/revoke", body).json()["error"] == "invalid_client"
    assert AuthSession.objects.get().state == AuthSession.State.ACTIVE

    answer = form(api, "/api/auth/revoke", {**body, "client_id": cli_app.client_id})

    assert answer.status_code == 200, answer.content
    assert AuthSession.objects.get().revoke_reason == "revoked"
    refresh = form(
        api,
        "/api/auth/token",
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": cli_app.client_id,
        },
    )
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"


def test_public_client_cannot_revoke_another_client_s_tokens(
    api, browser, cli_app, web_app, authorize_params
):
    _, secret = web_app
    web = exchange(api, authorize_params, code_for(browser, authorize_params), secret=secret)
    api.credentials()
    answer = form(
        api,
        "/api/auth/revoke",
        {"token": web.json()["refresh_token"], "client_id": cli_app.client_id},
    )
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    assert AuthSession.objects.get().state == AuthSession.State.ACTIVE


def test_public_client_without_pkce_is_refused_to_the_app(browser, cli_app):
    params = {
        "response_type": "code",
        "client_id": cli_app.client_id,
        "redirect_uri": CLI_CALLBACK,
        "scope": "openid",
        "state": "s",
    }
    answer = browser.get("/oidc/authorize", params)
    assert answer.status_code == 302
    assert query_of(answer["Location"])["error"] == "invalid_request"


@pytest.mark.parametrize("method", ["plain", ""])
def test_plain_pkce_is_refused(browser, authorize_params, method):
    params = {**authorize_params, "code_challenge": "a" * 43, "code_challenge_method": method}
    answer = authorize(browser, params)
    assert answer.status_code == 302
    assert query_of(answer["Location"])["error"] == "invalid_request"
    assert not AuthorizationCode.objects.exists()


@pytest.mark.parametrize(
    "redirect_uri", ["https://evil.example.com/callback", APP_CALLBACK + "/", APP_CALLBACK + "?x=1"]
)
def test_unregistered_redirect_uri_is_a_400_page_never_a_redirect(
    browser, authorize_params, redirect_uri
):
    answer = browser.get("/oidc/authorize", {**authorize_params, "redirect_uri": redirect_uri})
    assert answer.status_code == 400
    assert b"redirect_uri is not registered" in answer.content
    assert "Location" not in answer


def test_unknown_client_is_a_400_page(browser, authorize_params):
    answer = browser.get("/oidc/authorize", {**authorize_params, "client_id": "svc_nope"})
    assert answer.status_code == 400


def test_wrong_or_missing_verifier_is_refused(api, browser, web_app, authorize_params):
    _, secret = web_app
    code = code_for(browser, authorize_params)
    assert exchange(api, {**authorize_params, "_verifier": None}, code, secret=secret).json() == {
        "error": "invalid_grant",
        "error_description": "A valid code_verifier is required.",
    }
    other, _ = pkce_pair()
    code = code_for(browser, authorize_params)
    wrong = exchange(api, {**authorize_params, "_verifier": other}, code, secret=secret)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"


def test_reused_code_revokes_what_it_issued(api, browser, web_app, authorize_params):
    _, secret = web_app
    code = code_for(browser, authorize_params)
    first = exchange(api, authorize_params, code, secret=secret)
    assert first.status_code == 200
    second = exchange(api, authorize_params, code, secret=secret)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    api.credentials()
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {first.json()['access_token']}"}
    assert api.get("/api/auth/verify", **bearer).status_code == 401
    assert AuthSession.objects.get().revoke_reason == "code_reuse"


def test_expired_code_is_refused(api, browser, web_app, authorize_params):
    _, secret = web_app
    code = code_for(browser, authorize_params)
    AuthorizationCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    answer = exchange(api, authorize_params, code, secret=secret)
    assert answer.json()["error_description"] == "The authorization code has expired."


def test_code_of_another_client_is_refused(api, browser, web_app, authorize_params):
    from accounts.flows.oidc.clients import oidc_client_create

    other, other_secret = oidc_client_create(name="Other", redirect_uris=[APP_CALLBACK])
    code = code_for(browser, authorize_params)
    answer = exchange(
        api, {**authorize_params, "client_id": other.client_id}, code, secret=other_secret
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    assert exchange(api, authorize_params, code, secret="wrong").status_code == 401


def test_confidential_client_must_authenticate(api, browser, authorize_params):
    code = code_for(browser, authorize_params)
    answer = exchange(api, authorize_params, code, client_id=authorize_params["client_id"])
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"


def test_prompt_none_without_a_session_is_login_required(db, authorize_params):
    answer = Client().get("/oidc/authorize", {**authorize_params, "prompt": "none"})
    assert answer.status_code == 302
    query = query_of(answer["Location"])
    assert answer["Location"].startswith(APP_CALLBACK)
    assert (query["error"], query["state"]) == ("login_required", "st-123")


def test_prompt_none_without_consent_is_consent_required(browser, authorize_params):
    answer = browser.get("/oidc/authorize", {**authorize_params, "prompt": "none"})
    assert query_of(answer["Location"])["error"] == "consent_required"


def test_signed_out_browser_is_sent_to_warden_s_sign_in(db, authorize_params):
    answer = Client().get("/oidc/authorize", {**authorize_params, "login_hint": "ann@example.com"})
    assert answer.status_code == 302
    assert answer["Location"].startswith("/accounts/login/?next=%2Foidc%2Fauthorize")
    page = Client().get(answer["Location"])
    assert b'value="ann@example.com"' in page.content


def test_consent_is_remembered_and_asked_again_for_more(browser, authorize_params):
    first = browser.get("/oidc/authorize", authorize_params)
    assert b'id="consent"' in first.content
    assert authorize(browser, authorize_params).status_code == 302
    again = browser.get("/oidc/authorize", authorize_params)
    assert again.status_code == 302  # remembered: straight back with a code
    more = browser.get("/oidc/authorize", {**authorize_params, "scope": "openid offline_access"})
    assert b'id="consent"' in more.content
    forced = browser.get("/oidc/authorize", {**authorize_params, "prompt": "consent"})
    assert b'id="consent"' in forced.content


def test_the_consent_page_shows_the_apps_logo_from_its_origin_and_no_other(
    browser, web_app, authorize_params
):
    client, _ = web_app
    plain = browser.get("/oidc/authorize", authorize_params)
    assert "img-src 'self' data:;" in plain["Content-Security-Policy"]
    client.oidc.logo_uri = "https://cdn.wiki.example/logo.png"
    client.oidc.save()
    page = browser.get("/oidc/authorize", authorize_params)
    assert b'src="https://cdn.wiki.example/logo.png"' in page.content
    assert "img-src 'self' data: https://cdn.wiki.example;" in page["Content-Security-Policy"]
    assert "cdn.wiki.example" not in browser.get("/accounts/login/")["Content-Security-Policy"]


def test_denied_consent_tells_the_app(browser, authorize_params):
    query = {k: v for k, v in authorize_params.items() if not k.startswith("_")}
    answer = browser.post("/oidc/authorize/consent", {**query, "decision": "deny"})
    assert query_of(answer["Location"])["error"] == "access_denied"


def test_prompt_login_asks_for_the_password_again(browser, authorize_params):
    authorize(browser, authorize_params)
    answer = browser.get("/oidc/authorize", {**authorize_params, "prompt": "login"})
    assert answer.status_code == 302
    assert answer["Location"].startswith("/accounts/reauthenticate/")


def test_discovery_lists_what_is_served(api, db):
    meta = api.get("/.well-known/openid-configuration").json()
    assert meta["authorization_endpoint"] == "http://127.0.0.1:8000/oidc/authorize"
    assert meta["userinfo_endpoint"] == "http://127.0.0.1:8000/oidc/userinfo"
    assert meta["end_session_endpoint"] == "http://127.0.0.1:8000/oidc/logout"
    assert meta["response_types_supported"] == ["code"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert "openid" in meta["scopes_supported"]


def test_csp_form_action_allows_registered_redirect_origins(db, web_app):
    page = Client().get("/accounts/login/")
    form_action = next(
        d for d in page["Content-Security-Policy"].split("; ") if d.startswith("form-action")
    )
    assert "https://app.example.com" in form_action.split()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_code_exchanged_twice_at_once_ends_the_session_it_opened(
    browser, web_app, authorize_params
):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection
    from rest_framework.test import APIClient

    _, secret = web_app
    for _ in range(5):
        code = code_for(browser, authorize_params)
        start = threading.Barrier(2)

        def attempt(_, code=code, start=start):
            try:
                start.wait(timeout=10)
                return exchange(APIClient(), authorize_params, code, secret=secret).status_code
            finally:
                connection.close()

        with ThreadPoolExecutor(max_workers=2) as pool:
            codes = sorted(pool.map(attempt, range(2)))

        assert codes == [200, 400], codes
        # Whichever came second waited for the first's session and revoked it.
        opened = AuthorizationCode.objects.get(code_digest=digest(code)).session
        assert opened is not None and opened.revoke_reason == "code_reuse"
