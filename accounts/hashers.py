"""Argon2id tuned for an authentication service's throughput."""

import threading

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher

_slots: threading.BoundedSemaphore | None = None
_slots_lock = threading.Lock()


def _hash_slots() -> threading.BoundedSemaphore:
    global _slots
    if _slots is None:
        with _slots_lock:
            if _slots is None:
                limit = getattr(settings, "WARDEN_HASH_CONCURRENCY", 1)
                _slots = threading.BoundedSemaphore(limit)
    return _slots


class WardenArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id at OWASP's first recommended setting: m=19 MiB, t=2, p=1.

    Django's default (m=100 MiB, p=8) costs ~5x the memory per login. At 19 MiB one hash takes
    ~20 ms on one core, so a 2-core instance checks ~100 passwords/s while one attacker guess
    still costs the same memory-hard work. Stored hashes carry their parameters; older ones
    are upgraded on the next successful sign-in (`must_update`).

    Each hash holds its 19 MiB while it runs, and Argon2 releases the GIL, so a worker with N
    threads could hold N x 19 MiB at once. WARDEN_HASH_CONCURRENCY (default 1: one hash per
    worker, and one worker per core) caps that without costing throughput: more hashes at once
    than cores only queue on the CPU anyway.
    """

    time_cost = 2
    memory_cost = 19 * 1024
    parallelism = 1

    def encode(self, password, salt):
        with _hash_slots():
            return super().encode(password, salt)

    def verify(self, password, encoded):
        with _hash_slots():
            return super().verify(password, encoded)
