"""NUL bytes and lone surrogates in the fields that reach PostgreSQL: a 4xx, never a 5xx.

PostgreSQL text cannot hold NUL (psycopg refuses the query) and a lone surrogate cannot be
encoded to UTF-8, so a value like that which reaches a query ends in a 500 unless the API
refuses it first. Run over HTTP against the Warden of tests/faults, on its private PostgreSQL.
"""

from __future__ import annotations

import base64
import json

import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.faults

NUL = "\x00"
SURROGATE = "\ud800"  # json.dumps writes it as the escape "\ud800": valid JSON syntax
BAD = {"nul": NUL, "surrogate": SURROGATE}


def json_body(fields: dict) -> bytes:
    return json.dumps(fields).encode("ascii")  # ensure_ascii: escapes, never raw surrogates


def assert_documented_4xx(response) -> None:
    where = f"{response.status_code} {response.headers.get('Content-Type')} {response.text[:200]}"
    assert 400 <= response.status_code < 500, where
    assert response.headers.get("Content-Type") == "application/json", where
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"], where
    assert isinstance(body.get("error_description"), str), where


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
def test_login_email(stack, bad):
    response = stack.post(
        "/api/auth/login",
        data=json_body({"email": f"ann{bad}@example.com", "password": PASSWORD}),
        headers=JSON,
    )
    assert_documented_4xx(response)


def test_login_email_form_nul(stack):
    response = stack.post(
        "/api/auth/login", data={"email": f"ann{NUL}@example.com", "password": PASSWORD}
    )
    assert_documented_4xx(response)


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
def test_token_password_grant_username(stack, bad):
    response = stack.post(
        "/api/auth/token",
        data=json_body(
            {"grant_type": "password", "username": f"ann{bad}@example.com", "password": PASSWORD}
        ),
        headers=JSON,
    )
    assert_documented_4xx(response)


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
def test_token_grant_type(stack, bad):
    response = stack.post(
        "/api/auth/token",
        data=json_body({"grant_type": f"client_credentials{bad}"}),
        headers=JSON,
        auth=(stack.client_id, stack.client_secret),
    )
    assert_documented_4xx(response)


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
def test_token_client_id_in_the_body(stack, bad):
    response = stack.post(
        "/api/auth/token",
        data=json_body(
            {
                "grant_type": "client_credentials",
                "client_id": stack.client_id + bad,
                "client_secret": stack.client_secret,
            }
        ),
        headers=JSON,
    )
    assert_documented_4xx(response)


def test_token_client_id_in_a_form_body_nul(stack):
    response = stack.post(
        "/api/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": stack.client_id + NUL,
            "client_secret": stack.client_secret,
        },
    )
    assert_documented_4xx(response)


# HTTP Basic carries bytes: a NUL raw or percent-encoded (RFC 6749 §2.3.1 form-encodes the
# id), and a surrogate as the bytes UTF-8 forbids (CESU-8 "\xed\xa0\x80") or percent-encoded.
BASIC_IDS = {
    "nul": lambda client_id: (client_id + NUL).encode(),
    "nul-percent": lambda client_id: (client_id + "%00").encode(),
    "surrogate-bytes": lambda client_id: client_id.encode() + b"\xed\xa0\x80",
    "surrogate-percent": lambda client_id: (client_id + "%ED%A0%80").encode(),
}


@pytest.mark.parametrize("make_id", BASIC_IDS.values(), ids=BASIC_IDS.keys())
def test_token_client_id_in_http_basic(stack, make_id):
    credentials = make_id(stack.client_id) + b":" + stack.client_secret.encode()
    response = stack.post(
        "/api/auth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic " + base64.b64encode(credentials).decode()},
    )
    assert_documented_4xx(response)
