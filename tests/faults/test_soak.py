"""A bounded soak: verify, refresh, client_credentials and sign-in mixed for SOAK_SECONDS, with
0 errors and each worker's resident memory flat after the warm-up.

Run on a Warden of its own (the fault stack's PostgreSQL and Redis) with GUNICORN_MAX_REQUESTS=0:
recycling workers every 10,000 requests, as deploy/gunicorn.conf.py does, would hide a leak.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter

import pytest
import requests

from tests.conftest import PASSWORD
from tests.e2e import harness as e2e
from tests.faults import harness
from tests.faults.conftest import SOAK_USER

pytestmark = pytest.mark.faults

SOAK_SECONDS = 60
WARM_UP_SECONDS = 12
MAX_RSS_GROWTH = 0.15  # last third against the first third of the samples after warm-up


@pytest.fixture
def soak_warden(stack, tmp_path):
    port = e2e.free_port()
    env = dict(stack.env, GUNICORN_MAX_REQUESTS="0")
    warden = e2e.start_warden("warden-soak", port=port, env=env, log_dir=tmp_path)
    try:
        yield f"http://127.0.0.1:{port}", warden
    finally:
        warden.stop()


class Load(threading.Thread):
    def __init__(self, name: str, call, deadline: float, pause: float = 0.0) -> None:
        super().__init__(daemon=True, name=name)
        self.call, self.deadline, self.pause = call, deadline, pause
        self.counts: Counter = Counter()
        self.errors: list[str] = []

    def run(self) -> None:
        http = requests.Session()
        try:
            while time.monotonic() < self.deadline:
                try:
                    ok, detail = self.call(http)
                except requests.RequestException as exc:
                    ok, detail = False, type(exc).__name__
                self.counts["ok" if ok else "error"] += 1
                if not ok and len(self.errors) < 20:
                    self.errors.append(detail)
                if self.pause:
                    time.sleep(self.pause)
        finally:
            http.close()


def test_soak_mixed_load_no_errors_and_flat_memory(stack, soak_warden):
    url, warden = soak_warden
    master = warden.popen.pid
    workers = harness.wait_for_workers(master, 2)
    login = requests.post(
        url + "/api/auth/login", json={"email": SOAK_USER, "password": PASSWORD}, timeout=15
    )
    assert login.status_code == 200, login.text
    access = login.json()["access_token"]
    basic = (stack.client_id, stack.client_secret)

    def verify(http):
        r = http.get(url + "/api/auth/verify", headers={"Authorization": f"Bearer {access}"})
        return r.status_code == 200, f"verify {r.status_code}"

    def client_credentials(http):
        r = http.post(
            url + "/api/auth/token", data={"grant_type": "client_credentials"}, auth=basic
        )
        return r.status_code == 200, f"client_credentials {r.status_code}"

    def sign_in(http):
        r = http.post(url + "/api/auth/login", json={"email": SOAK_USER, "password": PASSWORD})
        return r.status_code == 200, f"sign-in {r.status_code}"

    def refresher():
        state = {"token": None}

        def refresh(http):
            if state["token"] is None:
                r = http.post(
                    url + "/api/auth/login", json={"email": SOAK_USER, "password": PASSWORD}
                )
            else:
                r = http.post(url + "/api/auth/refresh", json={"refresh_token": state["token"]})
            if r.status_code == 200:
                state["token"] = r.json()["refresh_token"]
            return r.status_code == 200, f"refresh {r.status_code} {r.text[:100]}"

        return refresh

    began = time.monotonic()
    deadline = began + SOAK_SECONDS
    loads = [Load(f"verify-{i}", verify, deadline) for i in range(3)]
    loads += [Load(f"refresh-{i}", refresher(), deadline) for i in range(2)]
    loads += [Load("client_credentials", client_credentials, deadline)]
    loads += [Load("sign-in", sign_in, deadline, pause=0.25)]
    for load in loads:
        load.start()
    samples: dict[int, list[int]] = {pid: [] for pid in workers}
    while time.monotonic() < deadline:
        time.sleep(1)
        if time.monotonic() - began < WARM_UP_SECONDS:
            continue
        for pid in workers:
            rss = harness.vm_rss_kb(pid)
            if rss is not None:
                samples[pid].append(rss)
    for load in loads:
        load.join(30)
    assert not any(load.is_alive() for load in loads), "load hung"
    assert harness.children(master) == workers, "a worker was replaced during the soak"

    print(f"\nsoak: {SOAK_SECONDS} s, mixed load, warm-up {WARM_UP_SECONDS} s")
    total = Counter()
    for load in loads:
        print(f"  {load.name:20} ok {load.counts['ok']:6}  errors {load.counts['error']}")
        total.update(load.counts)
    print(
        f"  total: {total['ok']} ok, {total['error']} errors, "
        f"{total['ok'] / SOAK_SECONDS:.0f} req/s"
    )
    growth = {}
    for pid, values in samples.items():
        third = max(len(values) // 3, 1)
        first, last = statistics.mean(values[:third]), statistics.mean(values[-third:])
        growth[pid] = (last - first) / first
        print(
            f"  worker {pid}: RSS {values[0] / 1024:.1f} -> {values[-1] / 1024:.1f} MB "
            f"(first third {first / 1024:.1f}, last third {last / 1024:.1f}: "
            f"{growth[pid] * 100:+.1f}%), {len(values)} samples"
        )
    errors = [e for load in loads for e in load.errors]
    assert total["error"] == 0, errors
    assert all(len(v) >= 10 for v in samples.values()), samples
    assert all(g < MAX_RSS_GROWTH for g in growth.values()), growth
    assert total["ok"] > 1000
