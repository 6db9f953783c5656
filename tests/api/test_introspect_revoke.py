"""RFC 7662 introspection and RFC 7009 revocation."""

import base64

import pytest

from accounts.flows.clients import service_client_create
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def basic(client, secret) -> str:
    return "Basic " + base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()


def introspect(api, token, auth):
    return api.post(
        "/api/auth/introspect",
        f"token={token}",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=auth,
    )


def test_introspection_requires_client_authentication(api, user, login):
    response = api.post("/api/auth/introspect", {"token": login()["access_token"]}, format="json")
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_live_access_token_introspects_active_with_its_claims(api, user, login, service_client):
    client, secret = service_client
    body = introspect(api, login()["access_token"], basic(client, secret)).json()
    assert body["active"] is True
    assert body["sub"] == str(user.public_id) and body["username"] == user.email
    assert body["iss"] == "http://127.0.0.1:8000" and body["aud"] == "warden"
    assert body["roles"] == ["user"] and body["exp"] > body["iat"]


@pytest.mark.parametrize("which", ["refresh", "garbage", "empty", "after-logout"])
def test_anything_but_a_live_access_token_is_just_inactive(api, user, login, service_client, which):
    client, secret = service_client
    pair = login()
    if which == "after-logout":
        api.post("/api/auth/logout", {"refresh_token": pair["refresh_token"]}, format="json")
    token = {"refresh": pair["refresh_token"], "garbage": "abc", "empty": ""}.get(
        which, pair["access_token"]
    )
    response = introspect(api, token, basic(client, secret))
    assert response.status_code == 200 and response.json() == {"active": False}


def test_revoke_ends_a_user_session_without_client_auth(api, user, login):
    pair = login()
    response = api.post("/api/auth/revoke", {"token": pair["refresh_token"]}, format="json")
    assert response.status_code == 200
    assert (
        api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {pair['access_token']}").status_code
        == 401
    )


def verify_status(api, token) -> int:
    return api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {token}").status_code


def test_revoking_an_access_token_ends_that_token_only(api, user, login, service_client):
    client, secret = service_client
    pair = login()
    revoked = api.post("/api/auth/revoke", {"token": pair["access_token"]}, format="json")
    assert revoked.status_code == 200
    assert verify_status(api, pair["access_token"]) == 401
    assert introspect(api, pair["access_token"], basic(client, secret)).json() == {"active": False}
    assert api.get(
        "/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {pair['access_token']}"
    ).json() == {"active": False, "error": "token revoked"}
    # The session is not touched: its refresh token still works and mints live tokens.
    refreshed = api.post(
        "/api/auth/refresh", {"refresh_token": pair["refresh_token"]}, format="json"
    )
    assert refreshed.status_code == 200
    assert verify_status(api, refreshed.json()["access_token"]) == 200


def test_an_access_token_cannot_end_its_session_through_logout(api, user, login):
    pair = login()
    response = api.post("/api/auth/logout", {"refresh_token": pair["access_token"]}, format="json")
    assert response.status_code == 204  # RFC 7009 §2.2: nothing to say about a bad token
    assert verify_status(api, pair["access_token"]) == 200
    assert (
        api.post(
            "/api/auth/refresh", {"refresh_token": pair["refresh_token"]}, format="json"
        ).status_code
        == 200
    )


def test_a_client_revokes_its_own_client_credentials_token(api, service_client, settings):
    client, secret = service_client
    token = api.post(
        "/api/auth/token",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic(client, secret),
    ).json()["access_token"]
    other, other_secret = service_client_create(name="billing", scopes=[])
    stranger = api.post(
        "/api/auth/revoke",
        f"token={token}",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic(other, other_secret),
    )
    assert stranger.status_code == 401 and stranger.json()["error"] == "invalid_client"
    assert introspect(api, token, basic(client, secret)).json()["active"] is True
    own = api.post(
        "/api/auth/revoke",
        f"token={token}",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic(client, secret),
    )
    assert own.status_code == 200
    assert introspect(api, token, basic(client, secret)).json() == {"active": False}
    assert verify_status(api, token) == 401


@pytest.mark.parametrize("token", ["garbage", "a.b.c"])
def test_revoking_an_unknown_or_invalid_token_still_answers_200(api, db, token):
    assert api.post("/api/auth/revoke", {"token": token}, format="json").status_code == 200


def test_revoke_without_token_is_invalid_request(api, db):
    response = api.post("/api/auth/revoke", {}, format="json")
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_a_token_issued_to_a_client_is_revoked_only_by_that_client(api, user, service_client):
    owner, owner_secret = service_client
    other, other_secret = service_client_create(name="billing", scopes=[])
    pair = api.post(
        "/api/auth/token",
        f"grant_type=password&username={user.email}&password={PASSWORD}",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic(owner, owner_secret),
    ).json()

    def alive() -> bool:
        response = api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {pair['access_token']}")
        return response.status_code == 200

    for path, field in (("/api/auth/revoke", "token"), ("/api/auth/logout", "refresh_token")):
        for auth in (None, basic(other, other_secret)):
            headers = {"HTTP_AUTHORIZATION": auth} if auth else {}
            response = api.post(path, {field: pair["refresh_token"]}, format="json", **headers)
            # Refused out loud (RFC 7009 §2.1): a silent "done" would leave the tokens alive.
            assert response.status_code == 401 and response.json()["error"] == "invalid_client"
            assert alive(), "a stranger cannot end another client's session"
    response = api.post(
        "/api/auth/logout",
        {"refresh_token": pair["refresh_token"]},
        format="json",
        HTTP_AUTHORIZATION=basic(owner, owner_secret),
    )
    assert response.status_code == 204
    assert not alive()


def test_revoke_with_bad_client_credentials_is_401(api, user, login, service_client):
    client, _ = service_client
    response = api.post(
        "/api/auth/revoke",
        {"token": login()["refresh_token"]},
        format="json",
        HTTP_AUTHORIZATION=basic(client, "nope"),
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
