"""The seed documents' endpoints (api/dialects.py): their shapes, on Warden's own limits."""

import jwt
import pytest
from django.test import Client, override_settings
from rest_framework.test import APIClient

from accounts.models import AuditEvent, AuthSession, Role
from tests.conftest import PASSWORD
from tests.mfa_support import enrol_totp, totp_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    client = APIClient()
    client.default_format = "json"
    return client


@pytest.fixture
def admin(make_user):
    user = make_user("root@example.com")
    user.groups.add(Role.objects.get_or_create(name="admin")[0])
    return user


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def seed003_login(api, email="ann@example.com", password=PASSWORD):
    return api.post("/auth/login", {"email": email, "password": password})


# --- Seed 002: /api/auth/login with username, /api/auth/validate -------------------------------


def test_login_takes_username_as_the_email(api, user):
    response = api.post("/api/auth/login", {"username": user.email, "password": PASSWORD})
    assert response.status_code == 200, response.content
    body = response.json()
    assert {"access_token", "refresh_token", "expires_in"} <= set(body)
    assert body["expires_in"] == 900
    assert response["Cache-Control"] == "no-store"


def test_login_refuses_two_different_names(api, user):
    response = api.post(
        "/api/auth/login",
        {"username": "bob@example.com", "email": user.email, "password": PASSWORD},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_login_without_email_or_username_is_invalid_request(api, user):
    response = api.post("/api/auth/login", {"password": PASSWORD})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_validate_answers_like_verify(api, user, login):
    access = login()["access_token"]
    response = api.get("/api/auth/validate", HTTP_AUTHORIZATION=f"Bearer {access}")
    assert response.status_code == 200
    body = response.json()
    assert body["active"] is True and body["roles"] == ["user"]
    assert response["X-User-Id"] == str(user.public_id)
    assert response["Cache-Control"] == "no-store"
    refused = api.get("/api/auth/validate", HTTP_AUTHORIZATION="Bearer nonsense")
    assert refused.status_code == 401 and refused.json()["active"] is False


# --- Seed 000: /api/auth/token/refresh ----------------------------------------------------------


def test_token_refresh_path_rotates_the_refresh_token(api, user, login):
    first = login()
    response = api.post("/api/auth/token/refresh", {"refresh_token": first["refresh_token"]})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["refresh_token"] != first["refresh_token"]
    assert body["refresh_token"].startswith("wrt_")
    assert claims_of(body["access_token"])["sub"] == str(user.public_id)
    assert response["Cache-Control"] == "no-store"
    # A repeat within the grace gets the same successor, and the session lives on.
    again = api.post("/api/auth/token/refresh", {"refresh_token": first["refresh_token"]})
    assert again.status_code == 200 and again.json()["refresh_token"] == body["refresh_token"]


# --- Seed 003: /auth/* at the root --------------------------------------------------------------


def test_seed003_login_answers_token_user_and_refresh_token(api, user):
    response = seed003_login(api)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"token", "refreshToken", "user"}
    assert body["user"] == {"userId": str(user.public_id), "email": user.email, "role": "user"}
    assert body["refreshToken"].startswith("wrt_")
    assert response["Cache-Control"] == "no-store"
    event = AuditEvent.objects.get(type="login")
    assert event.actor_user == user
    assert event.details == {"method": "password", "channel": "api"}


def test_seed003_tokens_carry_user_id_and_role(api, user, admin):
    claims = claims_of(seed003_login(api).json()["token"])
    assert claims["userId"] == claims["sub"] == str(user.public_id)
    assert claims["role"] == "user"
    admin_claims = claims_of(seed003_login(api, admin.email).json()["token"])
    assert admin_claims["roles"] == ["admin", "user"] and admin_claims["role"] == "admin"


def test_warden_own_login_tokens_carry_no_seed_claims(api, user, login):
    claims = claims_of(login()["access_token"])
    assert "userId" not in claims and "role" not in claims


@override_settings(WARDEN_SEED_CLAIMS_DIALECTS=[])
def test_seed_claims_follow_the_setting(api, user):
    body = seed003_login(api).json()
    assert "userId" not in claims_of(body["token"])
    assert body["user"]["userId"] == str(user.public_id)  # the answer's shape stays


def test_seed003_wrong_password_is_invalid_grant(api, user):
    response = seed003_login(api, password="wrong-password-000")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert AuditEvent.objects.filter(type="login", outcome="failure").exists()


def test_seed003_locked_account_answers_429_even_to_the_right_password(api, user):
    for _ in range(5):
        assert seed003_login(api, password="wrong-password-000").status_code == 400
    response = seed003_login(api)
    assert response.status_code == 429
    assert response.json()["error"] == "rate_limited"
    assert int(response["Retry-After"]) > 0


def test_seed003_mfa_challenge_then_second_step_gives_seed_tokens(api, user):
    secret = enrol_totp(user)
    response = seed003_login(api)
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "mfa_required" and body["mfa_token"]
    assert "token" not in body and not AuthSession.objects.exists()
    done = api.post("/auth/login/mfa", {"mfa_token": body["mfa_token"], "code": totp_code(secret)})
    assert done.status_code == 200, done.content
    assert claims_of(done.json()["token"])["userId"] == str(user.public_id)
    assert done.json()["user"]["role"] == "user"


def test_seed003_verify_valid_invalid_and_revoked(api, user):
    body = seed003_login(api).json()
    valid = api.post("/auth/verify", {"token": body["token"]})
    assert valid.status_code == 200
    assert valid.json()["valid"] is True
    assert valid.json()["user"]["userId"] == str(user.public_id)
    assert valid.json()["user"]["role"] == "user"
    assert valid["Cache-Control"] == "no-store"

    assert api.post("/auth/verify", {"token": "not-a-token"}).json() == {"valid": False}
    assert api.post("/auth/verify", {}).json() == {"valid": False}

    api.post("/api/auth/logout", {"refresh_token": body["refreshToken"]})
    revoked = api.post("/auth/verify", {"token": body["token"]})
    assert revoked.status_code == 200 and revoked.json() == {"valid": False}


def test_seed003_verify_reads_warden_tokens_with_the_seed_names(api, user, login):
    access = login()["access_token"]
    claims = api.post("/auth/verify", {"token": access}).json()["user"]
    assert claims["userId"] == str(user.public_id) and claims["role"] == "user"


@override_settings(WARDEN_TOKEN_FAILURES_PER_MINUTE=3)
def test_seed003_verify_limits_guessing_per_ip(api, user):
    for _ in range(3):
        assert api.post("/auth/verify", {"token": "guess"}).status_code == 200
    refused = api.post("/auth/verify", {"token": "guess"})
    assert refused.status_code == 429 and refused.json()["error"] == "rate_limited"


def test_seed003_refresh_rotates_and_detects_reuse(api, user):
    first = seed003_login(api).json()
    response = api.post("/auth/refresh", {"refreshToken": first["refreshToken"]})
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"accessToken", "refreshToken"}
    assert body["refreshToken"] != first["refreshToken"]
    assert claims_of(body["accessToken"])["role"] == "user"
    repeat = api.post("/auth/refresh", {"refreshToken": first["refreshToken"]})
    assert repeat.json()["refreshToken"] == body["refreshToken"]  # the grace answer

    bad = api.post("/auth/refresh", {"refreshToken": "wrt_nonsense"})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    missing = api.post("/auth/refresh", {"refresh_token": first["refreshToken"]})
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"


def test_seed003_google_starts_allauth_web_flow_which_still_needs_a_post(google):
    browser = Client(enforce_csrf_checks=True)
    response = browser.get("/auth/google")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/google/login/?process=login"
    page = browser.get(response["Location"])
    assert page.status_code == 200  # allauth's "Continue" page, not a redirect to Google
    assert b"csrfmiddlewaretoken" in page.content
    assert browser.post("/accounts/google/login/?process=login").status_code == 403
    token = browser.cookies["csrftoken"].value
    started = browser.post("/accounts/google/login/?process=login", {"csrfmiddlewaretoken": token})
    assert started.status_code == 302
    assert started["Location"].startswith(f"{google.base_url}/o/oauth2/v2/auth")


@pytest.mark.parametrize(
    ("setting", "method", "path"),
    [
        ("WARDEN_DIALECT_SEED000", "post", "/api/auth/token/refresh"),
        ("WARDEN_DIALECT_SEED002", "get", "/api/auth/validate"),
        ("WARDEN_DIALECT_SEED003", "post", "/auth/login"),
        ("WARDEN_DIALECT_SEED003", "post", "/auth/verify"),
        ("WARDEN_DIALECT_SEED003", "post", "/auth/refresh"),
        ("WARDEN_DIALECT_SEED003", "get", "/auth/google"),
    ],
)
def test_switched_off_dialect_answers_404(api, user, setting, method, path):
    with override_settings(**{setting: False}):
        response = getattr(api, method)(path, {"email": user.email, "password": PASSWORD})
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(type="login").exists()


def test_schema_lists_the_dialect_endpoints(api):
    paths = api.get("/api/schema/?format=json").json()["paths"]
    for name in ("/auth/login", "/auth/verify", "/auth/refresh", "/auth/google"):
        assert name in paths
    assert "/api/auth/token/refresh" in paths and "/api/auth/validate" in paths


@override_settings(CORS_ALLOWED_ORIGINS=["https://app.example.com"])
def test_seed003_api_answers_cors_preflights_like_the_api(api):
    response = api.options(
        "/auth/login",
        HTTP_ORIGIN="https://app.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    assert response["Access-Control-Allow-Origin"] == "https://app.example.com"
