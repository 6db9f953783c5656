"""POST /api/auth/token and the first-party JSON calls: every grant and every error shape."""

import base64
from urllib.parse import urlencode

import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def form(api, path: str, data: dict, **extra):
    """POST as application/x-www-form-urlencoded, as OAuth clients do."""
    return api.post(
        path, urlencode(data), content_type="application/x-www-form-urlencoded", **extra
    )


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def test_password_grant_with_form_body_returns_bearer_pair_not_cached(api, user):
    response = form(
        api,
        "/api/auth/token",
        {"grant_type": "password", "username": "ann@example.com", "password": PASSWORD},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert body["access_token"].count(".") == 2  # a JWT
    assert body["refresh_token"].startswith("wrt_")  # opaque: only Warden can read it
    assert response["Cache-Control"] == "no-store" and response["Pragma"] == "no-cache"


def test_password_grant_accepts_json_body_and_any_email_case(api, user):
    response = api.post(
        "/api/auth/token",
        {"grant_type": "password", "username": "ANN@example.com", "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 200 and "refresh_token" in response.json()


def test_login_and_token_endpoint_answer_with_the_same_body_shape(api, user, login):
    via_login = login()
    via_token = form(
        api,
        "/api/auth/token",
        {"grant_type": "password", "username": user.email, "password": PASSWORD},
    ).json()
    assert (
        set(via_login)
        == set(via_token)
        == {"access_token", "token_type", "expires_in", "refresh_token"}
    )


@pytest.mark.parametrize("path", ["/api/auth/token", "/api/auth/login"])
def test_wrong_password_and_unknown_email_get_the_same_invalid_grant(api, user, path):
    def attempt(email):
        data = {
            "grant_type": "password",
            "username": email,
            "email": email,
            "password": "wrong-password-1",
        }
        return api.post(path, data, format="json")

    wrong, unknown = attempt("ann@example.com"), attempt("nobody@example.com")
    assert wrong.status_code == unknown.status_code == 400
    assert (
        wrong.json()
        == unknown.json()
        == {
            "error": "invalid_grant",
            "error_description": "Invalid email or password.",
        }
    )


def test_unverified_email_gets_a_clear_error_and_no_token(api, make_user):
    make_user("new@example.com", verified=False)
    response = api.post(
        "/api/auth/login", {"email": "new@example.com", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 400
    assert (
        response.json()["reason"] == "email_not_verified" and "access_token" not in response.json()
    )


def test_deactivated_user_gets_no_token(api, make_user):
    make_user("off@example.com", is_active=False)
    response = api.post(
        "/api/auth/login", {"email": "off@example.com", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert "inactive" in response.json()["error_description"]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "invalid_request"),
        ({"grant_type": "password", "username": "a@example.com"}, "invalid_request"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
        ({"grant_type": "authorization_code", "code": "x"}, "invalid_request"),
        ({"grant_type": "urn:example:made-up", "code": "x"}, "unsupported_grant_type"),
        ({"grant_type": "refresh_token", "refresh_token": "not-a-jwt"}, "invalid_grant"),
    ],
)
def test_token_endpoint_errors_follow_rfc6749(api, db, data, error):
    response = form(api, "/api/auth/token", data)
    assert response.status_code == 400
    assert response.json()["error"] == error and response.json()["error_description"]
    assert response["Cache-Control"] == "no-store"


def test_malformed_json_is_invalid_request_not_a_500(api, db):
    response = api.generic("POST", "/api/auth/token", "{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_non_string_parameters_are_invalid_request(api, db):
    response = api.post(
        "/api/auth/login", {"email": ["a@example.com"], "password": {"x": 1}}, format="json"
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_client_credentials_with_basic_auth_returns_scoped_service_token(api, service_client):
    client, secret = service_client
    response = form(
        api,
        "/api/auth/token",
        {"grant_type": "client_credentials", "scope": "inventory:read"},
        HTTP_AUTHORIZATION=basic(client.client_id, secret),
    )
    assert response.status_code == 200
    body = response.json()
    assert body["scope"] == "inventory:read" and "refresh_token" not in body
    verified = api.get(
        "/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}"
    ).json()
    assert verified["subject_type"] == "service" and verified["client_id"] == client.client_id
    assert verified["sub"] == client.client_id and verified["scope"] == "inventory:read"


def test_client_credentials_with_body_auth_gets_all_allowed_scopes_by_default(api, service_client):
    client, secret = service_client
    response = form(
        api,
        "/api/auth/token",
        {
            "grant_type": "client_credentials",
            "client_id": client.client_id,
            "client_secret": secret,
        },
    )
    assert response.status_code == 200
    assert response.json()["scope"] == "inventory:read inventory:write"


def test_client_credentials_refuses_a_scope_the_client_was_not_given(api, service_client):
    client, secret = service_client
    response = form(
        api,
        "/api/auth/token",
        {"grant_type": "client_credentials", "scope": "inventory:read admin"},
        HTTP_AUTHORIZATION=basic(client.client_id, secret),
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"


@pytest.mark.parametrize("who", ["wrong-secret", "unknown-client", "no-auth", "garbage-basic"])
def test_bad_client_authentication_is_401_invalid_client(api, service_client, who):
    client, secret = service_client
    headers = {
        "wrong-secret": {"HTTP_AUTHORIZATION": basic(client.client_id, secret + "x")},
        "unknown-client": {"HTTP_AUTHORIZATION": basic("svc_nope", secret)},
        "no-auth": {},
        "garbage-basic": {"HTTP_AUTHORIZATION": "Basic !!!not-base64"},
    }[who]
    response = form(api, "/api/auth/token", {"grant_type": "client_credentials"}, **headers)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response["WWW-Authenticate"].startswith("Basic")


def test_deactivated_client_cannot_get_tokens_and_its_tokens_stop(api, service_client, settings):
    from accounts.flows.clients import service_client_set_active

    settings.WARDEN_SHARED_CACHE = True
    client, secret = service_client
    auth = {"HTTP_AUTHORIZATION": basic(client.client_id, secret)}
    token = form(api, "/api/auth/token", {"grant_type": "client_credentials"}, **auth).json()[
        "access_token"
    ]
    assert api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    service_client_set_active(client=client, active=False)
    assert api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
    assert (
        form(api, "/api/auth/token", {"grant_type": "client_credentials"}, **auth).status_code
        == 401
    )


def test_refresh_grant_on_token_endpoint_rotates_the_pair(api, user, login):
    first = login()
    response = form(
        api,
        "/api/auth/token",
        {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    )
    assert response.status_code == 200
    assert response.json()["refresh_token"] != first["refresh_token"]


def test_session_issued_to_a_client_refreshes_only_with_that_client(api, user, service_client):
    client, secret = service_client
    pair = form(
        api,
        "/api/auth/token",
        {"grant_type": "password", "username": user.email, "password": PASSWORD},
        HTTP_AUTHORIZATION=basic(client.client_id, secret),
    ).json()
    claims = api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {pair['access_token']}").json()
    assert claims["client_id"] == client.client_id and claims["subject_type"] == "user"
    anonymous = api.post(
        "/api/auth/refresh", {"refresh_token": pair["refresh_token"]}, format="json"
    )
    assert anonymous.status_code == 400
    owner = form(
        api,
        "/api/auth/token",
        {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]},
        HTTP_AUTHORIZATION=basic(client.client_id, secret),
    )
    assert owner.status_code == 200, "a refused foreign refresh must not burn the session"


def test_client_credentials_works_out_the_caller_once_and_audits_with_it(
    api, service_client, monkeypatch
):
    from accounts.audit import Caller
    from accounts.flows.oidc.clients import oidc_client_create
    from accounts.models import AuditEvent

    seen = []
    of = Caller.of.__func__
    monkeypatch.setattr(Caller, "of", classmethod(lambda cls, r: seen.append(r) or of(cls, r)))
    client, secret = service_client
    auth = {"HTTP_AUTHORIZATION": basic(client.client_id, secret)}
    assert (
        form(api, "/api/auth/token", {"grant_type": "client_credentials"}, **auth).status_code
        == 200
    )
    assert len(seen) == 1
    # An OpenID app not registered for the grant: refused, audited with the same caller.
    app, app_secret = oidc_client_create(name="Web", redirect_uris=["https://app.example/cb"])
    auth = {"HTTP_AUTHORIZATION": basic(app.client_id, app_secret)}
    refused = form(api, "/api/auth/token", {"grant_type": "client_credentials"}, **auth)
    assert refused.status_code == 400 and refused.json()["error"] == "unauthorized_client"
    assert AuditEvent.objects.get(type="grant_not_registered").ip == "127.0.0.1"
    assert len(seen) == 2


def test_a_grant_type_that_is_not_a_string_is_invalid_request_even_with_a_client_id(api, db):
    # The public-client check read grant_type before its validation (a list: a 500).
    body = {"grant_type": ["authorization_code"], "client_id": "app"}
    response = api.post("/api/auth/token", body, format="json")
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
