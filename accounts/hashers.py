"""Argon2id tuned for an authentication service's throughput."""

from django.contrib.auth.hashers import Argon2PasswordHasher


class WardenArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id at OWASP's first recommended setting: m=19 MiB, t=2, p=1.

    Django's default (m=100 MiB, p=8) costs ~5x the memory per login. At 19 MiB one hash takes
    ~20 ms on one core, so a 2-core instance checks ~100 passwords/s while one attacker guess
    still costs the same memory-hard work. Stored hashes carry their parameters; older ones
    are upgraded on the next successful sign-in (`must_update`).
    """

    time_cost = 2
    memory_cost = 19 * 1024
    parallelism = 1
