"""PostgreSQL or Redis stops under a running Warden: clean 503s, then a quick recovery.

Every endpoint answers JSON (503 temporarily_unavailable with Retry-After, or its normal
answer where it needs nothing from the missing backend), pages the friendly 503 page, and
never a 500 or an HTML error for the API. Started again, the backend is used within 10 s.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
import requests

from tests.conftest import PASSWORD
from tests.faults.conftest import LOGIN_ATTEMPTS_LIMIT, Stack

pytestmark = pytest.mark.faults

ROUNDS = 3  # each probe several times: both workers, fresh and stale pooled connections
RECOVERY_SECONDS = 10


def probes(stack: Stack, tokens: dict) -> dict:
    """name -> a call of one endpoint, with what a real caller would send."""
    basic = (stack.client_id, stack.client_secret)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    return {
        "login": lambda: stack.login(),
        "token password": lambda: stack.post(
            "/api/auth/token",
            data={"grant_type": "password", "username": "ann@example.com", "password": PASSWORD},
        ),
        "token client_credentials": lambda: stack.post(
            "/api/auth/token", data={"grant_type": "client_credentials"}, auth=basic
        ),
        "refresh": lambda: stack.post(
            "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        ),
        "verify (unknown session)": lambda: stack.get("/api/auth/verify", headers=bearer),
        "introspect": lambda: stack.post(
            "/api/auth/introspect", data={"token": tokens["access_token"]}, auth=basic
        ),
        "revoke": lambda: stack.post(
            "/api/auth/revoke", data={"token": tokens["refresh_token"]}, auth=basic
        ),
        "me": lambda: stack.get("/api/auth/me", headers=bearer),
        "jwks": lambda: stack.get("/.well-known/jwks.json"),
        "openid-configuration": lambda: stack.get("/.well-known/openid-configuration"),
    }


# Endpoints that may still answer normally without the backend: jwks serves the keys each worker
# holds in memory, discovery needs nothing. Without Redis, what needs only the database answers
# as with Redis: refresh (later rounds repeat the rotated token: the grace answer, or a refusal
# once the session is revoked), and verify, introspection and me, which ask the database while
# the revocation channel is down (a logout meanwhile is checked below).
MAY_ANSWER = {
    "database": {"jwks": {200}, "openid-configuration": {200}},
    "cache": {
        "jwks": {200},
        "openid-configuration": {200},
        "refresh": {200, 400},
        "verify (unknown session)": {200, 401},
        "introspect": {200},
        "revoke": {200},
        "me": {200, 401},
    },
}


def assert_clean_503(name: str, response: requests.Response, backend: str) -> None:
    where = f"{name}: {response.status_code} {response.headers.get('Content-Type')}"
    assert response.status_code != 500, where
    assert response.headers.get("Content-Type") == "application/json", where
    if response.status_code in MAY_ANSWER[backend].get(name, ()):
        return
    assert response.status_code == 503, f"{where} {response.text[:300]}"
    assert response.json()["error"] == "temporarily_unavailable", where
    assert response.json()["error_description"], where
    assert response.headers.get("Retry-After", "").isdigit(), where
    assert response.headers.get("Cache-Control") == "no-store", where


def outage_round(stack: Stack, tokens: dict, backend: str) -> Counter:
    counts: Counter = Counter()
    for _ in range(ROUNDS):
        for name, call in probes(stack, tokens).items():
            response = call()
            counts[(name, response.status_code)] += 1
            assert_clean_503(name, response, backend)
        page = stack.get("/accounts/login/")
        counts[("page /accounts/login/", page.status_code)] += 1
        assert page.status_code in (200, 503), page.status_code
        assert page.headers["Content-Type"].startswith("text/html")
        if page.status_code == 503:
            assert 'data-testid="temporarily-unavailable"' in page.text
            assert page.headers.get("Retry-After", "").isdigit()
        ready = stack.get("/readyz")
        counts[("readyz", ready.status_code)] += 1
        assert ready.status_code == 503
        assert ready.json()["reason"] == f"{backend} unreachable"
    return counts


def fresh_tokens(stack: Stack) -> dict:
    response = stack.login()
    assert response.status_code == 200, response.text
    return response.json()


def report(title: str, counts: Counter, seconds: float) -> None:
    print(f"\n{title}: answers by status")
    by_status = Counter()
    for (name, status), n in sorted(counts.items()):
        print(f"  {name:28} {status}  x{n}")
        by_status[status] += n
    print(f"  totals: {dict(sorted(by_status.items()))}")
    print(f"  recovered {seconds:.2f} s after the restart")


def recover(stack: Stack, start) -> float:
    """Start the backend again; seconds from the start command until Warden answers normally."""
    began = time.monotonic()
    start()
    stack.wait_ready(timeout=RECOVERY_SECONDS * 2)
    seconds = time.monotonic() - began
    assert seconds < RECOVERY_SECONDS, f"recovery took {seconds:.1f}s"
    return seconds


def after_recovery_everything_answers(stack: Stack) -> None:
    tokens = fresh_tokens(stack)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert stack.get("/api/auth/verify", headers=bearer).status_code == 200
    assert stack.get("/api/auth/me", headers=bearer).status_code == 200
    refreshed = stack.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    basic = (stack.client_id, stack.client_secret)
    granted = stack.post("/api/auth/token", data={"grant_type": "client_credentials"}, auth=basic)
    assert granted.status_code == 200, granted.text
    assert stack.get("/accounts/login/").status_code == 200


def assert_no_secrets_logged(stack: Stack, tokens: dict) -> None:
    log = stack.warden.log()
    assert "unavailable: " in log  # the outage was logged...
    for secret in (tokens["access_token"], tokens["refresh_token"], stack.client_secret, PASSWORD):
        assert secret not in log  # ...without what the callers sent


def test_postgres_outage_answers_503_and_recovers(stack):
    tokens = fresh_tokens(stack)
    stack.redis.flush()  # the session's state is not cached: verify has to ask the database
    stack.postgres.stop()
    try:
        counts = outage_round(stack, tokens, "database")
    finally:
        seconds = recover(stack, stack.postgres.start)
    report("PostgreSQL stopped", counts, seconds)
    after_recovery_everything_answers(stack)
    assert_no_secrets_logged(stack, tokens)


def test_redis_outage_answers_503_and_recovers(stack):
    tokens = fresh_tokens(stack)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert stack.get("/api/auth/verify", headers=bearer).status_code == 200
    stack.redis.stop()
    try:
        counts = outage_round(stack, tokens, "cache")
        # A logout while Redis is away (revoke needs the client-auth limiter, which fails
        # closed): every worker refuses the session's token at once.
        logout = stack.post("/api/auth/logout", json={"refresh_token": tokens["refresh_token"]})
        assert logout.status_code == 204, logout.text
        assert {stack.get("/api/auth/verify", headers=bearer).status_code for _ in range(6)} == {
            401
        }
    finally:
        seconds = recover(stack, stack.redis.start)
    report("Redis stopped", counts, seconds)
    # Redis came back empty: nothing it holds (or lacks) makes the revoked session live again.
    assert {stack.get("/api/auth/verify", headers=bearer).status_code for _ in range(6)} == {401}
    after_recovery_everything_answers(stack)
    assert_no_secrets_logged(stack, tokens)


def test_redis_restored_from_a_snapshot_before_a_logout_resurrects_nothing(stack):
    tokens = fresh_tokens(stack)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}

    def verify_statuses() -> set[int]:
        return {stack.get("/api/auth/verify", headers=bearer).status_code for _ in range(6)}

    assert verify_statuses() == {200}  # every worker has seen the session live
    stack.redis.snapshot()  # Redis as it was before the logout
    logout = stack.post("/api/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert logout.status_code == 204
    assert verify_statuses() == {401}
    stack.redis.stop()
    recover(stack, stack.redis.start)  # comes back with the pre-logout snapshot
    assert verify_statuses() == {401}
    stack.redis.flush()  # and emptied
    assert verify_statuses() == {401}
    stack.redis.stop()
    stack.redis.start()
    assert verify_statuses() == {401}


def test_sign_ins_during_a_database_outage_do_not_spend_the_attempts_budget(stack):
    email = "bob@example.com"
    stack.postgres.stop()
    try:
        for _ in range(LOGIN_ATTEMPTS_LIMIT + 2):
            assert stack.login(email).status_code == 503
    finally:
        recover(stack, stack.postgres.start)
    assert stack.login(email).status_code == 200
    for _ in range(LOGIN_ATTEMPTS_LIMIT):
        assert stack.login(email, "wrong-password-1").status_code == 400
    assert stack.login(email).status_code == 429  # the whole budget was there, and is now spent


def test_outage_answers_are_quick(stack):
    """No request hangs while a backend is away: connection refused is answered at once."""
    for backend in (stack.postgres, stack.redis):
        backend.stop()
        try:
            start = time.monotonic()
            for _ in range(5):
                assert stack.login("carol@example.com").status_code == 503
            per_request = (time.monotonic() - start) / 5
        finally:
            backend.start()
            stack.wait_ready()
        print(f"\n{backend.name} stopped: a sign-in answers 503 in {per_request * 1000:.0f} ms")
        assert per_request < 2
