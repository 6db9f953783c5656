"""The hand-written verify view answers exactly as the endpoint is documented."""

import base64
import json

import pytest

from accounts.flows.clients import service_client_set_active

pytestmark = pytest.mark.django_db


def test_verify_bearer_answers_claims_and_gateway_headers(user, api, login):
    pair = login()
    response = api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {pair['access_token']}")
    assert response.status_code == 200
    body = response.json()
    assert body["active"] is True
    assert body["sub"] == str(user.public_id)
    assert body["subject_type"] == "user"
    assert body["email"] == user.email
    assert body["roles"] == ["user"]
    assert response["X-User-Id"] == str(user.public_id)
    assert response["X-User-Email"] == user.email
    assert response["X-User-Roles"] == "user"
    assert response["Cache-Control"] == "no-store"
    # SecurityMiddleware still runs before the fast path.
    assert response["X-Content-Type-Options"] == "nosniff"


def test_verify_post_json_and_form_answer_like_get(user, api, login):
    access = login()["access_token"]
    as_json = api.post("/api/auth/verify", {"token": access}, format="json")
    as_form = api.post(
        "/api/auth/verify", f"token={access}", content_type="application/x-www-form-urlencoded"
    )
    assert as_json.status_code == as_form.status_code == 200
    assert as_json.json() == as_form.json()


def test_verify_without_token_is_401_without_error_code(api, db):
    response = api.get("/api/auth/verify")
    assert response.status_code == 401
    assert response.json() == {"active": False, "error": "no token"}
    assert response["WWW-Authenticate"] == 'Bearer realm="warden"'


@pytest.mark.parametrize("body", ['{"token": ', '{"token": 5}', "[1, 2]", ""])
def test_verify_post_with_unusable_body_is_401_no_token(api, db, body):
    response = api.generic("POST", "/api/auth/verify", body, content_type="application/json")
    assert response.status_code == 401
    assert response.json()["error"] == "no token"


def test_verify_refuses_refresh_token_and_garbage(user, api, login):
    pair = login()
    for raw in (pair["refresh_token"], "not.a.token", pair["access_token"][:-4] + "AAAA"):
        response = api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert response.status_code == 401, raw
        assert response.json()["active"] is False
        assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_verify_sees_logout_at_once(user, api, login):
    pair = login()
    api.post("/api/auth/logout", {"refresh_token": pair["refresh_token"]}, format="json")
    response = api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {pair['access_token']}")
    assert response.status_code == 401
    assert response.json()["error"] == "session revoked"


def test_verify_refuses_other_methods_and_unknown_hosts(api, user, login):
    access = login()["access_token"]
    assert api.put("/api/auth/verify", {"token": access}, format="json").status_code == 405
    response = api.get(
        "/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {access}", HTTP_HOST="evil.example"
    )
    assert response.status_code == 400


def test_verify_is_described_in_the_openapi_schema(api, db):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operations = schema["paths"]["/api/auth/verify"]
    assert {"get", "post"} <= set(operations)
    assert "401" in operations["get"]["responses"]


def test_service_token_verifies_until_client_deactivated(
    api, service_client, django_capture_on_commit_callbacks
):
    client, secret = service_client
    token = api.post(
        "/api/auth/token",
        {
            "grant_type": "client_credentials",
            "client_id": client.client_id,
            "client_secret": secret,
        },
        format="json",
    ).json()["access_token"]
    ok = api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert ok.status_code == 200
    assert ok.json()["subject_type"] == "service"
    with django_capture_on_commit_callbacks(execute=True):
        service_client_set_active(client=client, active=False)
    assert api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_cached_header_does_not_help_a_tampered_token(user, api, login):
    # The genuine token's header is parsed once and remembered; a token that reuses that header
    # segment with a changed payload must still fail on its signature.
    access = login()["access_token"]
    assert verify(api, access).status_code == 200
    header, payload, signature = access.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["roles"] = ["admin"]
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    forged = f"{header}.{forged_payload}.{signature}"
    response = verify(api, forged)
    assert response.status_code == 401
    assert response.json()["active"] is False


def verify(api, token: str):
    return api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {token}")
