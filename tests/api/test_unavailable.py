"""A database or Redis error anywhere in a request answers 503 + Retry-After, never a 500.

In process, with the outage simulated by making one call raise; tests/faults does the same
against real PostgreSQL and Redis servers that are stopped and started.
"""

from unittest import mock

import pytest
import redis.exceptions
from django.db import OperationalError
from django.test import Client

from accounts import tokens

pytestmark = pytest.mark.django_db

DB_DOWN = OperationalError("connection to server at 127.0.0.1 failed: Connection refused")
CACHE_DOWN = redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1. Refused.")


@pytest.fixture
def web() -> Client:
    # handler500's path sends got_request_exception, which the test client would re-raise.
    return Client(raise_request_exception=False)


def assert_json_503(response) -> None:
    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "temporarily_unavailable"
    assert response.json()["error_description"]
    assert response["Retry-After"] == "5"
    assert response["Cache-Control"] == "no-store"


def test_database_error_in_an_api_view_is_a_json_503(web, caplog):
    with mock.patch("api.auth.password_login", side_effect=DB_DOWN):
        response = web.post(
            "/api/auth/login",
            {"email": "ann@example.com", "password": "secret-password-1"},
            content_type="application/json",
        )
    assert_json_503(response)
    logged = [r for r in caplog.records if r.name == "warden.unavailable"]
    assert logged and "database unavailable: POST /api/auth/login" in logged[0].getMessage()
    assert "secret-password-1" not in caplog.text


def test_cache_error_in_an_api_view_is_a_json_503(web):
    with mock.patch.object(tokens.keyring, "jwks", side_effect=CACHE_DOWN):
        response = web.get("/.well-known/jwks.json")
    assert_json_503(response)


@pytest.mark.parametrize("error", [DB_DOWN, CACHE_DOWN], ids=["database", "cache"])
def test_verify_fast_path_error_is_a_json_503(web, error, caplog):
    # Verify is served by VerifyFastPathMiddleware, not by a view: handler500 maps it.
    with mock.patch("api.verify.tokens.access_token_check", side_effect=error):
        response = web.get("/api/auth/verify", HTTP_AUTHORIZATION="Bearer some.secret.token")
    assert_json_503(response)
    assert "some.secret.token" not in caplog.text


def test_database_error_in_a_page_is_the_friendly_503_page(web):
    with mock.patch("accounts.views.LoginView.get", side_effect=DB_DOWN):
        response = web.get("/accounts/login/")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert response["Retry-After"] == "5"
    assert b'data-testid="temporarily-unavailable"' in response.content


def test_database_error_in_a_middleware_is_the_friendly_503_page(web):
    with mock.patch("accounts.middleware.MfaPolicyMiddleware.__call__", side_effect=DB_DOWN):
        response = web.get("/accounts/login/")
    assert response.status_code == 503
    assert b'data-testid="temporarily-unavailable"' in response.content


def test_other_errors_are_still_a_500(web):
    with mock.patch("api.auth.password_login", side_effect=ValueError("a bug")):
        response = web.post(
            "/api/auth/login",
            {"email": "ann@example.com", "password": "x"},
            content_type="application/json",
        )
    assert response.status_code == 500
