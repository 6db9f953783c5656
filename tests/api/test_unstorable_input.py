"""NUL and lone surrogates in a JSON or form body are a 400 invalid_request on any database
(tests/faults/test_bad_input.py checks the same over HTTP on PostgreSQL, where they used to 500)."""

import pytest
from rest_framework.test import APIClient

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "body",
    [
        '{"email": "ann\\u0000@example.com", "password": "PASSWORD"}',
        '{"email": "ann\\ud800@example.com", "password": "PASSWORD"}',
        '{"email": "ann@example.com", "password": "PASSWORD", "x": [{"\\udfff": 1}]}',
    ],
    ids=["nul", "surrogate", "nested-key"],
)
def test_json_body(body):
    body = body.replace("PASSWORD", PASSWORD)
    response = APIClient().post("/api/auth/login", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_form_body():
    response = APIClient().post(
        "/api/auth/login",
        f"email=ann%00@example.com&password={PASSWORD}",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_ordinary_unicode_is_still_fine(user):
    response = APIClient().post(
        "/api/auth/login",
        {"email": "ann@example.com", "password": PASSWORD, "note": "Grüße 😀"},
        format="json",
    )
    assert response.status_code == 200
