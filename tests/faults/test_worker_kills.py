"""gunicorn workers SIGKILLed under refresh-heavy load: no session lost, no token spent twice.

Each client thread owns a session and refreshes in a loop. A worker killed mid-request leaves
its clients with a reset connection: they retry the same refresh token at once, as a careful
client does, and get the same successor (the retry grace of accounts/flows/sessions.py) when
the killed request had committed, or a plain exchange when it had not. Afterwards every
session is live in the database, rotated exactly as often as its client saw a new token, its
client's last token still works, and nothing was revoked for reuse.
"""

from __future__ import annotations

import base64
import json
import os
import random
import signal
import threading
import time
from collections import Counter

import pytest
import requests

from tests.faults import harness
from tests.faults.conftest import KILLS_USER, Stack

pytestmark = pytest.mark.faults

CLIENTS = 30
LOAD_SECONDS = 20
KILLS = 5
REQUEST_TIMEOUT = 3.0  # a request a dead worker swallowed is given up on after this
RETRY_WITHIN = 3.0  # all retries of one token inside REFRESH_REUSE_GRACE_SECONDS (5 s)


def session_id(access_token: str) -> str:
    payload = access_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sid"]


class RefreshingClient(threading.Thread):
    """One session, refreshed back to back until the deadline; retries a failed exchange."""

    def __init__(self, stack: Stack, tokens: dict, deadline: float):
        super().__init__(daemon=True)
        self.url = stack.url + "/api/auth/refresh"
        self.token = tokens["refresh_token"]
        self.sid = session_id(tokens["access_token"])
        self.deadline = deadline
        self.counts: Counter = Counter()
        self.exchanges = 0  # new tokens this client received (rotations it caused)
        self.successor_of: dict[str, str] = {}
        self.double_spends = 0
        self.lost: str | None = None

    def run(self) -> None:
        http = requests.Session()
        try:
            while time.monotonic() < self.deadline and self.lost is None:
                self.exchange(http)
        finally:
            http.close()

    def exchange(self, http: requests.Session) -> None:
        began = time.monotonic()
        attempt = 0
        while attempt < 20 and time.monotonic() - began < RETRY_WITHIN:
            attempt += 1
            self.counts["requests"] += 1
            if attempt > 1:
                self.counts["retries"] += 1
            try:
                response = http.post(
                    self.url, json={"refresh_token": self.token}, timeout=REQUEST_TIMEOUT
                )
            except requests.RequestException as exc:
                self.counts[f"error {type(exc).__name__}"] += 1
                http.close()  # a fresh connection: the old one may be to the dead worker
                time.sleep(0.05 * attempt)
                continue
            self.counts[f"status {response.status_code}"] += 1
            if response.status_code == 200:
                successor = response.json()["refresh_token"]
                if attempt > 1:
                    self.counts["recovered by a retry"] += 1
                known = self.successor_of.get(self.token)
                if known is not None and known != successor:
                    self.double_spends += 1
                self.successor_of[self.token] = successor
                self.token = successor
                self.exchanges += 1
                return
            if response.status_code in (502, 503, 504):
                time.sleep(0.05 * attempt)
                continue
            self.lost = f"{response.status_code} {response.text[:200]}"
            return
        self.lost = f"no answer within {RETRY_WITHIN}s ({attempt} attempts)"


def kill_workers(master_pid: int, kills: int, seconds: float, log: list) -> None:
    """SIGKILL a random worker `kills` times, spread over `seconds`."""
    rng = random.Random(16)
    interval = seconds / (kills + 1)
    for _ in range(kills):
        time.sleep(interval)
        workers = harness.children(master_pid)
        if not workers:
            continue
        victim = rng.choice(workers)
        os.kill(victim, signal.SIGKILL)
        log.append((round(time.monotonic(), 2), victim))
        harness.wait_for_workers(master_pid, len(workers), timeout=15)


def test_worker_kills_under_refresh_load_lose_no_session(stack):
    master = stack.warden.popen.pid
    workers_before = harness.wait_for_workers(master, 2)
    logins = []
    for _ in range(CLIENTS):
        response = stack.login(KILLS_USER)
        assert response.status_code == 200, response.text
        logins.append(response.json())
    deadline = time.monotonic() + LOAD_SECONDS
    clients = [RefreshingClient(stack, tokens, deadline) for tokens in logins]
    kills: list = []
    for client in clients:
        client.start()
    killer = threading.Thread(target=kill_workers, args=(master, KILLS, LOAD_SECONDS, kills))
    killer.start()
    killer.join(LOAD_SECONDS + 30)
    for client in clients:
        client.join(LOAD_SECONDS + 30)
    assert not killer.is_alive() and not any(c.is_alive() for c in clients), "load hung"
    workers_after = harness.wait_for_workers(master, len(workers_before))

    # The database's view of every session.
    rows = {
        str(sid): (state, reason, generation)
        for sid, state, reason, generation in stack.postgres.query(
            "SELECT id, state, revoke_reason, generation FROM accounts_authsession"
            " WHERE id = ANY(%s::uuid[])",
            ([c.sid for c in clients],),
        )
    }
    reuse_alarms = stack.postgres.query(
        "SELECT count(*) FROM accounts_auditevent WHERE type = 'refresh_reuse_detected'"
        " AND target = ANY(%s)",
        ([c.sid for c in clients],),
    )[0][0]
    repeats = stack.postgres.query(
        "SELECT count(*) FROM accounts_auditevent WHERE type = 'refresh_repeat'"
        " AND target = ANY(%s)",
        ([c.sid for c in clients],),
    )[0][0]

    lost = {c.sid: c.lost for c in clients if c.lost}
    not_live = {sid: row for sid, row in rows.items() if row[0] != "active" or row[1]}
    # Rotated exactly once per new token a client received: a second rotation of one token
    # (a double spend) would make the database count more than the client saw.
    miscounted = {
        c.sid: (rows[c.sid][2], c.exchanges) for c in clients if c.exchanges != rows[c.sid][2]
    }
    double_spends = sum(c.double_spends for c in clients) + len(miscounted)
    # Each client's last token still works.
    final = Counter()
    for client in clients:
        response = requests.post(
            client.url, json={"refresh_token": client.token}, timeout=REQUEST_TIMEOUT * 3
        )
        final[response.status_code] += 1

    totals = Counter()
    for client in clients:
        totals.update(client.counts)
    print(f"\nworker kills under refresh load: {CLIENTS} clients, {LOAD_SECONDS} s")
    print(f"  kills: {len(kills)} (pids {[pid for _, pid in kills]})")
    print(f"  workers before {workers_before}, after {workers_after}")
    for name, n in sorted(totals.items()):
        print(f"  {name:34} {n}")
    print(f"  exchanges (rotations): {sum(c.exchanges for c in clients)}")
    print(f"  grace answers (audit refresh_repeat): {repeats}")
    print(f"  sessions lost: {len(lost) + len(not_live)}, double spends: {double_spends}")
    print(f"  reuse alarms: {reuse_alarms}, final refresh of each client: {dict(final)}")

    assert len(kills) == KILLS
    assert not lost, lost
    assert len(rows) == CLIENTS
    assert not not_live, not_live
    assert double_spends == 0, miscounted
    assert reuse_alarms == 0
    assert final == Counter({200: CLIENTS})
    assert totals["recovered by a retry"] >= 1, "no kill hit a request: the test proved nothing"
    assert not any(k.startswith("status 5") and k != "status 503" for k in totals), totals
