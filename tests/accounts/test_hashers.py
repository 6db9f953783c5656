"""The Argon2 hasher keeps its memory bounded per worker without losing correctness."""

import threading
import time

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher

from accounts import hashers


@pytest.fixture
def slots(settings):
    def configure(n: int):
        settings.WARDEN_HASH_CONCURRENCY = n
        hashers._slots = None

    yield configure
    hashers._slots = None


def peak_concurrent_verifies(monkeypatch, threads: int) -> int:
    running, peak, lock = 0, 0, threading.Lock()

    def slow_verify(self, password, encoded):
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return True

    monkeypatch.setattr(Argon2PasswordHasher, "verify", slow_verify)
    hasher = hashers.WardenArgon2PasswordHasher()
    workers = [
        threading.Thread(target=hasher.verify, args=("pw", "argon2$x")) for _ in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=5)
    return peak


def test_one_hash_at_a_time_per_worker_by_default(slots, monkeypatch):
    slots(1)
    assert peak_concurrent_verifies(monkeypatch, threads=4) == 1


def test_hash_concurrency_is_configurable(slots, monkeypatch):
    slots(2)
    assert peak_concurrent_verifies(monkeypatch, threads=4) == 2


def test_real_argon2_hash_round_trips(slots):
    slots(1)
    hasher = hashers.WardenArgon2PasswordHasher()
    encoded = hasher.encode("correct horse", hasher.salt())
    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert hasher.verify("correct horse", encoded)
    assert not hasher.verify("wrong horse", encoded)
