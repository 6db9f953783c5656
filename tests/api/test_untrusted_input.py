"""Property tests (hypothesis) on the parsers of untrusted input: headers and token bodies."""

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
OAUTH_ERRORS = {
    "invalid_request",
    "invalid_grant",
    "invalid_client",
    "unsupported_grant_type",
    "invalid_scope",
    "rate_limited",
}
PARAMS = [
    "grant_type",
    "username",
    "password",
    "refresh_token",
    "scope",
    "client_id",
    "client_secret",
    "email",
    "token",
    "token_type_hint",
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    # Exercise the parsers, not the limiter.
    settings.RATE_LIMIT_EXEMPT_IPS = ["127.0.0.0/8"]
    settings.ACCOUNT_RATE_LIMITS = False


@FUZZ
@given(header=st.text(max_size=300).filter(lambda h: "\n" not in h and "\r" not in h))
def test_any_authorization_header_on_verify_is_a_clean_401(api, header):
    response = api.get("/api/auth/verify", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    body = response.json()
    assert body["active"] is False and isinstance(body["error"], str)
    assert response["WWW-Authenticate"].startswith("Bearer")


@FUZZ
@given(credentials=st.binary(max_size=80), scheme=st.sampled_from(["Basic", "basic", "BASIC"]))
def test_any_basic_credentials_are_invalid_client_or_request(api, credentials, scheme):
    header = f"{scheme} {base64.b64encode(credentials).decode()}"
    response = api.post(
        "/api/auth/token",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=header,
    )
    assert response.status_code in (400, 401)
    assert response.json()["error"] in {"invalid_client", "invalid_request"}


@FUZZ
@given(body=st.dictionaries(st.sampled_from(PARAMS) | st.text(max_size=8), json_values, max_size=6))
def test_any_json_token_request_is_answered_in_rfc6749_shape(api, body):
    response = api.post("/api/auth/token", json.dumps(body), content_type="application/json")
    assert response.status_code in (400, 401), response.content
    assert response.json()["error"] in OAUTH_ERRORS
    assert response["Cache-Control"] == "no-store"


@FUZZ
@given(raw=st.binary(max_size=200))
def test_any_raw_form_body_on_token_login_and_revoke_never_breaks(api, raw):
    for path in ("/api/auth/token", "/api/auth/login", "/api/auth/refresh", "/api/auth/revoke"):
        response = api.post(path, raw, content_type="application/x-www-form-urlencoded")
        assert response.status_code in (200, 400, 401), (path, response.content)
        if response.status_code != 200:
            assert response.json()["error"] in OAUTH_ERRORS


@FUZZ
@given(body=json_values)
def test_any_json_document_on_login_and_verify_never_breaks(api, body):
    login = api.post("/api/auth/login", json.dumps(body), content_type="application/json")
    assert login.status_code == 400 and login.json()["error"] in OAUTH_ERRORS
    verify = api.post("/api/auth/verify", json.dumps(body), content_type="application/json")
    assert verify.status_code == 401 and verify.json()["active"] is False


@pytest.mark.parametrize("path", ["/api/auth/token", "/api/auth/login", "/api/auth/verify"])
def test_json_nested_past_the_recursion_limit_is_a_clean_error(api, path):
    response = api.post(path, "[" * 100_000, content_type="application/json")
    assert response.status_code in (400, 401)
    assert response.json().get("error")
