"""Concurrent refresh on PostgreSQL: row locks make one refresh token mint one successor."""

import threading

import pytest
from django.db import connection
from django.test import Client

from accounts.models import AuthSession

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_twenty_concurrent_refreshes_with_one_token_mint_exactly_one_successor(
    user, login, settings
):
    settings.WARDEN_REFRESH_REUSE_GRACE = 30
    token = login()["refresh_token"]
    barrier = threading.Barrier(20)
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def worker():
        client = Client()
        barrier.wait()
        try:
            response = client.post(
                "/api/auth/refresh", {"refresh_token": token}, content_type="application/json"
            )
            with lock:
                results.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    winners = [body for status, body in results if status == 200]
    assert len(results) == 20
    assert len(winners) == 20, [status for status, _ in results]
    assert len({body["refresh_token"] for body in winners}) == 1, "one successor, carried by all"
    session = AuthSession.objects.get()
    assert session.state == AuthSession.State.ACTIVE, "racing duplicates are not theft"
    assert session.generation == 1, "the session rotated once"

    # Later, past the grace window, a replay of the spent token is theft: everything dies.
    new_pair = winners[0]
    client = Client()
    assert (
        client.get(
            "/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {new_pair['access_token']}"
        ).status_code
        == 200
    )
    settings.WARDEN_REFRESH_REUSE_GRACE = 0
    replay = client.post(
        "/api/auth/refresh", {"refresh_token": token}, content_type="application/json"
    )
    assert replay.status_code == 400
    assert (
        client.get(
            "/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {new_pair['access_token']}"
        ).status_code
        == 401
    )
    assert (
        client.post(
            "/api/auth/refresh",
            {"refresh_token": new_pair["refresh_token"]},
            content_type="application/json",
        ).status_code
        == 400
    )
    assert AuthSession.objects.get().state == AuthSession.State.REVOKED
