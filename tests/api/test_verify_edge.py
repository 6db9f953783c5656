"""The verify edge (api/edge.py): a repeat verify answered before Django, exactly as Django did."""

import io
import json
import time
from datetime import timedelta
from wsgiref.util import setup_testing_defaults

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from prometheus_client import REGISTRY

from accounts import tokens
from api.edge import VerifyEdge

pytestmark = pytest.mark.django_db


class CountingDjango:
    """Django's WSGI handler, counting the requests that reach it."""

    def __init__(self) -> None:
        self.handler = WSGIHandler()
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.handler(environ, start_response)


@pytest.fixture
def django_app():
    return CountingDjango()


@pytest.fixture
def edge(django_app):
    return VerifyEdge(django_app)


def served(app, environ, start_response) -> bytes:
    """The body, with the connection kept open as Django's test client keeps it around each
    request (it reconnects these after its own): the test's transaction must survive."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        return b"".join(app(environ, start_response))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def call(app, token, method="GET", body=b"", **headers):
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": "/api/auth/verify",
        "HTTP_HOST": "testserver",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
        **({"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}),
        **headers,
    }
    setup_testing_defaults(environ)
    sent = {}

    def start_response(status, response_headers, exc_info=None):
        sent["status"], sent["headers"] = status, response_headers

    body = served(app, environ, start_response)
    headers = {name.lower(): value for name, value in sent["headers"]}
    return int(sent["status"].split()[0]), headers, json.loads(body)


def active_count() -> float:
    return REGISTRY.get_sample_value("warden_verify_total", {"result": "active", "reason": ""})


def test_a_repeat_verify_gets_django_s_first_answer_without_reaching_django(
    edge, django_app, user, login
):
    token = login()["access_token"]
    first = call(edge, token)
    counted = active_count()
    again = [call(edge, token) for _ in range(3)]
    assert first[0] == 200 and all(answer == first for answer in again)
    assert first[1]["x-user-id"] == str(user.public_id) and first[2]["active"] is True
    assert django_app.calls == 1
    assert active_count() == counted + 3  # the edge counts what Django would have


def test_a_session_ended_after_its_token_was_remembered_is_refused_at_once(
    edge, django_app, api, user, login
):
    pair = login()
    assert call(edge, pair["access_token"])[0] == 200
    api.post("/api/auth/logout", {"refresh_token": pair["refresh_token"]}, format="json")
    status, headers, body = call(edge, pair["access_token"])
    assert status == 401 and body["active"] is False
    assert 'error="invalid_token"' in headers["www-authenticate"]
    assert django_app.calls == 2  # the refusal is Django's own


def test_a_remembered_token_is_refused_once_it_expires(edge, user, login, settings):
    settings.WARDEN_CLOCK_LEEWAY = 0
    settings.WARDEN_ACCESS_TOKEN_LIFETIME = timedelta(seconds=2)
    token = login()["access_token"]
    assert call(edge, token)[0] == 200
    time.sleep(max(0.0, tokens.AccessToken.parse(token).payload["exp"] - time.time()) + 0.2)
    status, _, body = call(edge, token)
    assert status == 401 and body["error"] == "token expired"


def test_another_audience_or_another_origin_is_never_answered_from_what_was_remembered(
    edge, django_app, user, login, settings
):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    token = login()["access_token"]
    assert call(edge, token)[0] == 200
    other = call(edge, token, HTTP_X_WARDEN_AUDIENCE="https://orders.example")
    assert other[0] == 401 and other[2]["error"] == "wrong audience"
    from_app = call(edge, token, HTTP_ORIGIN="https://app.example.com")
    assert from_app[1]["access-control-allow-origin"] == "https://app.example.com"
    assert "access-control-allow-origin" not in call(edge, token)[1]
    assert django_app.calls == 3


def test_refusals_and_posts_always_go_through_django(edge, django_app, user, login):
    for _ in range(2):
        assert call(edge, "not.a.token")[0] == 401
    token = login()["access_token"]
    body = f'{{"token": "{token}"}}'.encode()
    for _ in range(2):
        assert call(edge, None, "POST", body, CONTENT_TYPE="application/json")[0] == 200
    assert django_app.calls == 4


def test_other_paths_are_django_s_alone(edge, django_app, db):
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/healthz", "HTTP_HOST": "testserver"}
    setup_testing_defaults(environ)
    served(edge, environ, lambda status, headers, exc_info=None: None)
    assert django_app.calls == 1
