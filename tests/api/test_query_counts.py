"""Database queries per call on the hot paths: verify none in the steady state, others few."""

import base64
import time

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import tokens
from tests.conftest import PASSWORD, redis_url

pytestmark = pytest.mark.django_db

REDIS_CACHE = {
    "default": {
        "BACKEND": "config.cache.WardenRedisCache",
        "LOCATION": redis_url(),
        "KEY_PREFIX": "warden-test-queries",
    }
}


# Found, then pinned: a change that adds a query to these paths should be a decision.
# Login: user by email (allauth), its sign-in facts (email verified, MFA authenticators, role MFA
# policy, roles: one query), session insert, audit insert.
LOGIN_QUERIES = 4
# Refresh: the compare-and-swap UPDATE, returning the session, its user and roles, and the
# audit insert; on PostgreSQL one statement (a data-modifying CTE), its own transaction.
REFRESH_QUERIES = 2
# client_credentials: the client by id; the grant itself writes nothing. Asked again within
# RECENT_SECONDS (accounts/flows/clients.py), with a shared cache: nothing.
CLIENT_CREDENTIALS_QUERIES = 1
CLIENT_CREDENTIALS_AGAIN_QUERIES = 0


@pytest.fixture
def shared_cache(settings):
    settings.WARDEN_SHARED_CACHE = True


@pytest.fixture
def redis_cache(settings):
    settings.CACHES = REDIS_CACHE
    settings.WARDEN_SHARED_CACHE = "auto"
    cache.clear()
    yield
    cache.clear()


def channel_up() -> None:
    """With Redis, wait until this process listens to the revocation channel (it subscribes
    once, in the background): before that, every check rightly asks the database."""
    from accounts.tokens import revocation_bus

    deadline = time.monotonic() + 10
    while revocation_bus.wanted() and revocation_bus.generation() < 0:
        assert time.monotonic() < deadline, "never subscribed to the revocation channel"
        time.sleep(0.05)


def verify(api, access: str):
    return api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {access}")


def test_local_memory_cache_is_not_trusted_as_shared(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert tokens.cache_is_shared() is False
    settings.CACHES = REDIS_CACHE
    assert tokens.cache_is_shared() is True


def test_verify_runs_no_query_in_steady_state_with_shared_cache(
    shared_cache, user, api, login, django_assert_num_queries
):
    access = login()["access_token"]
    channel_up()
    assert verify(api, access).status_code == 200  # warms the key ring and session state
    with django_assert_num_queries(0):
        for _ in range(3):
            assert verify(api, access).status_code == 200


def test_service_token_verify_runs_no_query_in_steady_state(
    shared_cache, api, service_client, django_assert_num_queries
):
    client, secret = service_client
    access = api.post(
        "/api/auth/token",
        {"grant_type": "client_credentials"},
        format="json",
        HTTP_AUTHORIZATION=basic(client.client_id, secret),
    ).json()["access_token"]
    channel_up()
    assert verify(api, access).status_code == 200
    with django_assert_num_queries(0):
        assert verify(api, access).status_code == 200


@pytest.mark.redis
def test_verify_runs_no_query_in_steady_state_with_redis(
    redis_cache, user, api, login, django_assert_num_queries
):
    access = login()["access_token"]
    channel_up()
    assert verify(api, access).status_code == 200  # loads what is revoked, under the channel
    with django_assert_num_queries(0):
        for _ in range(20):
            assert verify(api, access).status_code == 200


def test_verify_without_shared_cache_asks_the_database_once(
    settings, user, api, login, django_assert_num_queries
):
    # Correctness first: a per-process cache could miss another worker's revocation.
    settings.WARDEN_SHARED_CACHE = False
    access = login()["access_token"]
    assert verify(api, access).status_code == 200
    with django_assert_num_queries(1):
        assert verify(api, access).status_code == 200


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def queries_of(call) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = call()
    assert response.status_code == 200, response.content
    # Savepoints mark the transaction.atomic blocks inside the test's own transaction; in
    # production those are one BEGIN/COMMIT, not work on the data, so they are not counted.
    return [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]


def test_login_runs_a_fixed_small_number_of_queries(shared_cache, user, api, login):
    login()  # warm the key ring
    sql = queries_of(
        lambda: api.post(
            "/api/auth/login", {"email": user.email, "password": PASSWORD}, format="json"
        )
    )
    assert len(sql) == LOGIN_QUERIES, "\n".join(sql)


def test_refresh_runs_a_fixed_small_number_of_queries(shared_cache, user, api, login):
    pair = login()
    sql = queries_of(
        lambda: api.post(
            "/api/auth/refresh", {"refresh_token": pair["refresh_token"]}, format="json"
        )
    )
    expected = 1 if connection.vendor == "postgresql" else REFRESH_QUERIES
    assert len(sql) == expected, "\n".join(sql)


def test_client_credentials_runs_a_fixed_small_number_of_queries(shared_cache, api, service_client):
    client, secret = service_client

    def grant():
        return api.post(
            "/api/auth/token",
            {"grant_type": "client_credentials"},
            format="json",
            HTTP_AUTHORIZATION=basic(client.client_id, secret),
        )

    from accounts.flows.clients import recent_clients

    grant()  # warms the key ring
    grant()  # and loads the revoked set, which says the remembered row's client is live
    recent_clients.clear()
    sql = queries_of(grant)
    assert len(sql) == CLIENT_CREDENTIALS_QUERIES, "\n".join(sql)
    sql = queries_of(grant)
    assert len(sql) == CLIENT_CREDENTIALS_AGAIN_QUERIES, "\n".join(sql)
