"""Failover of the engines users scale out on: a PostgreSQL primary to its streaming replica,
and a Redis master to its replica under Sentinel, each under a light load.

Warden is configured as a production deployment would be: `DATABASE_URL` names both
PostgreSQL hosts with `target_session_attrs=read-write` (libpq tries them in order and keeps the
one that takes writes), `REDIS_URL` is a `redis+sentinel://` URL (config/cache.py asks the
sentinels for the current master). After each failover Warden serves again within
RECOVERY_SECONDS, sessions opened before it still refresh, and a session revoked before it is
still refused.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
import requests

from tests.faults import harness
from tests.faults.conftest import Stack, fault_stack

pytestmark = [pytest.mark.faults, pytest.mark.failover]

RECOVERY_SECONDS = 10
SESSIONS = 5


@pytest.fixture(scope="module")
def replicated(tmp_path_factory):
    """Warden on a PostgreSQL primary + replica and a Redis master + replica + 3 sentinels."""
    logs = tmp_path_factory.mktemp("failover")
    with (
        harness.private_postgres_with_replica() as (primary, standby),
        harness.private_redis_with_sentinel() as redis_group,
    ):
        database_url = (
            f"postgres://postgres@127.0.0.1:{primary.port},127.0.0.1:{standby.port}/warden"
            "?target_session_attrs=read-write&connect_timeout=2"
        )
        with fault_stack(primary, redis_group, database_url, redis_group.url, logs) as stack:
            stack.standby = standby
            yield stack


class LightLoad(threading.Thread):
    """Verify and refresh (own session, retried as a careful client does) every 50 ms."""

    def __init__(self, stack: Stack, tokens: dict) -> None:
        super().__init__(daemon=True)
        self.stack = stack
        self.access = tokens["access_token"]
        self.refresh = tokens["refresh_token"]
        self.stop_at = time.monotonic() + 60
        self.counts: Counter = Counter()
        self.refused: list[str] = []

    def run(self) -> None:
        pending_since = None  # the current refresh token failed to exchange since then
        while time.monotonic() < self.stop_at:
            try:
                verify = self.stack.get(
                    "/api/auth/verify", headers={"Authorization": f"Bearer {self.access}"}
                )
                self.counts[("verify", verify.status_code)] += 1
                refresh = self.stack.post("/api/auth/refresh", json={"refresh_token": self.refresh})
                self.counts[("refresh", refresh.status_code)] += 1
                if refresh.status_code == 200:
                    self.refresh = refresh.json()["refresh_token"]
                    self.access = refresh.json()["access_token"]
                    pending_since = None
                elif refresh.status_code == 503:
                    pending_since = pending_since or time.monotonic()
                else:
                    self.refused.append(f"{refresh.status_code} {refresh.text[:200]}")
                    return
            except requests.RequestException as exc:
                self.counts[("error", type(exc).__name__)] += 1
            time.sleep(0.05)

    def finish(self) -> Counter:
        self.stop_at = 0
        self.join(20)
        return self.counts


def open_sessions(stack: Stack, count: int) -> list[dict]:
    sessions = []
    for _ in range(count):
        response = stack.login()
        assert response.status_code == 200, response.text
        sessions.append(response.json())
    return sessions


def revoked_session(stack: Stack) -> dict:
    tokens = open_sessions(stack, 1)[0]
    logout = stack.post("/api/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert logout.status_code == 204
    return tokens


def assert_refused(stack: Stack, revoked: dict) -> None:
    bearer = {"Authorization": f"Bearer {revoked['access_token']}"}
    statuses = {stack.get("/api/auth/verify", headers=bearer).status_code for _ in range(8)}
    assert statuses == {401}, statuses
    refresh = stack.post("/api/auth/refresh", json={"refresh_token": revoked["refresh_token"]})
    assert refresh.status_code == 400, refresh.text


def assert_still_refresh(stack: Stack, sessions: list[dict]) -> None:
    for tokens in sessions:
        response = stack.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert response.status_code == 200, response.text
        tokens.update(response.json())


def serving_again(stack: Stack, since: float) -> float:
    """Seconds from `since` until a sign-in and a refresh both answer 200."""
    while time.monotonic() - since < RECOVERY_SECONDS * 3:
        try:
            login = stack.login("dave@example.com")
            if login.status_code == 200:
                refresh = stack.post(
                    "/api/auth/refresh", json={"refresh_token": login.json()["refresh_token"]}
                )
                if refresh.status_code == 200:
                    return time.monotonic() - since
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError(
        f"not serving after {RECOVERY_SECONDS * 3}s:\n{stack.warden.log()[-3000:]}"
    )


def report(title: str, counts: Counter, seconds: float, extra: str = "") -> None:
    print(f"\n{title}: light load answers")
    for (kind, status), n in sorted(counts.items(), key=str):
        print(f"  {kind:8} {status}  x{n}")
    print(f"  serving again {seconds:.2f} s after the stop{extra}")


def assert_clean(counts: Counter, load: LightLoad) -> None:
    assert not load.refused, load.refused  # the load's own session was never lost
    unclean = {k: n for k, n in counts.items() if k[0] != "error" and k[1] >= 500 and k[1] != 503}
    assert not unclean, unclean
    assert counts[("refresh", 200)] > 0


def test_postgres_primary_fails_over_to_its_replica(replicated):
    stack = replicated
    standby = stack.standby
    sessions = open_sessions(stack, SESSIONS)
    revoked = revoked_session(stack)
    assert_refused(stack, revoked)
    deadline = time.monotonic() + 10
    while stack.postgres.replay_lag_bytes(standby) and time.monotonic() < deadline:
        time.sleep(0.05)
    load = LightLoad(stack, open_sessions(stack, 1)[0])
    load.start()
    time.sleep(1)
    began = time.monotonic()
    stack.postgres.stop()  # fast shutdown: what the replica has is everything committed
    standby.promote()  # the operator's (or Patroni's) `pg_ctl promote`
    promoted = time.monotonic() - began
    seconds = serving_again(stack, began)
    time.sleep(1)
    counts = load.finish()
    report(
        "PostgreSQL primary stopped, replica promoted",
        counts,
        seconds,
        f" (promotion took {promoted:.2f} s)",
    )
    assert not standby.in_recovery()
    assert seconds < RECOVERY_SECONDS, f"took {seconds:.1f}s"
    assert_clean(counts, load)
    assert_still_refresh(stack, sessions)
    assert_refused(stack, revoked)
    # Every connection Warden holds is to the new primary.
    backends = standby.query(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = 'warden' AND backend_type ="
        " 'client backend'"
    )[0][0]
    assert backends >= 1
    stack.revoked_before_postgres_failover = revoked


def test_redis_master_fails_over_under_sentinel(replicated):
    stack = replicated
    group: harness.RedisWithSentinel = stack.redis
    sessions = open_sessions(stack, SESSIONS)
    revoked = revoked_session(stack)
    assert_refused(stack, revoked)
    group.wait_replicated()
    old_master = group.current_master_port()
    assert old_master == group.master.port
    load = LightLoad(stack, open_sessions(stack, 1)[0])
    load.start()
    time.sleep(1)
    began = time.monotonic()
    group.master.stop()
    seconds = serving_again(stack, began)
    new_master = group.current_master_port()
    time.sleep(1)
    counts = load.finish()
    report(
        "Redis master stopped, Sentinel failed over",
        counts,
        seconds,
        f" (master port {old_master} -> {new_master})",
    )
    assert new_master == group.replica.port
    assert seconds < RECOVERY_SECONDS, f"took {seconds:.1f}s"
    assert_clean(counts, load)
    assert_still_refresh(stack, sessions)
    assert_refused(stack, revoked)
    for earlier in (getattr(stack, "revoked_before_postgres_failover", None),):
        if earlier is not None:
            assert_refused(stack, earlier)
    # Every worker's revocation channel follows the new master.
    import redis

    client = redis.Redis(host="127.0.0.1", port=new_master, socket_timeout=2)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            subscribers = dict(client.pubsub_numsub("warden:revocations"))[b"warden:revocations"]
            if subscribers >= 2:
                break
            time.sleep(0.1)
    finally:
        client.close()
    assert subscribers >= 2, subscribers  # both workers
    # A revocation after the failover reaches every worker through the new master.
    after = revoked_session(stack)
    time.sleep(0.2)
    assert_refused(stack, after)


@pytest.mark.parametrize(
    ("url", "sentinels", "service", "db", "password"),
    [
        ("redis+sentinel://10.0.0.1:26379/warden", [("10.0.0.1", 26379)], "warden", 0, None),
        (
            "redis+sentinel://:s3cret@a:1,b,c:3/mymaster/2",
            [("a", 1), ("b", 26379), ("c", 3)],
            "mymaster",
            2,
            "s3cret",
        ),
    ],
)
def test_sentinel_urls(url, sentinels, service, db, password):
    """No server needed: config/cache.py reads the sentinels, service and database."""
    from config.cache import sentinel_pool

    pool = sentinel_pool(url)
    found = [
        (s.connection_pool.connection_kwargs["host"], s.connection_pool.connection_kwargs["port"])
        for s in pool.sentinel_manager.sentinels
    ]
    assert found == sentinels
    assert pool.service_name == service
    assert pool.connection_kwargs["db"] == db
    assert pool.connection_kwargs.get("password") == password
