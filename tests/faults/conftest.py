"""One Warden under gunicorn on a private PostgreSQL and a private Redis, for fault tests.

The servers are this run's own (tests/faults/harness.py), so a test may stop and start them;
the machine's PostgreSQL and Redis are never touched. Skipped, with a reason, when the server
binaries are missing (tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import pytest
import requests

from tests.conftest import PASSWORD
from tests.e2e import harness as e2e
from tests.faults import harness

LOGIN_ATTEMPTS_LIMIT = 3
KILLS_USER = "kills@example.com"  # test_worker_kills' sessions
SOAK_USER = "soak@example.com"
USERS = (
    "ann@example.com",
    "bob@example.com",
    "carol@example.com",
    "dave@example.com",
    KILLS_USER,
    SOAK_USER,
)

SEED = f"""
import json
from allauth.account.models import EmailAddress
from accounts.flows.clients import service_client_create
from accounts.models import User
for email in {USERS!r}:
    user = User.objects.create_user(email=email, password={PASSWORD!r})
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
client, secret = service_client_create(name="orders", scopes=["inventory:read"])
print(json.dumps({{"client_id": client.client_id, "client_secret": secret}}))
"""


@dataclass
class Stack:
    url: str
    postgres: harness.PrivatePostgres
    redis: harness.PrivateRedis
    warden: e2e.Process
    client_id: str
    client_secret: str
    env: dict

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.url + path, timeout=15, allow_redirects=False, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return requests.post(self.url + path, timeout=15, allow_redirects=False, **kwargs)

    def login(self, email: str = "ann@example.com", password: str = PASSWORD):
        return self.post("/api/auth/login", json={"email": email, "password": password})

    def ready(self) -> bool:
        try:
            return self.get("/readyz").status_code == 200
        except requests.RequestException:
            return False

    def wait_ready(self, timeout: float = 20) -> float:
        """Seconds until /readyz and a sign-in both answer normally; fails past timeout."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            try:
                if self.ready() and self.login("dave@example.com").status_code == 200:
                    return time.monotonic() - start
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise AssertionError(f"Warden not back after {timeout}s:\n{self.warden.log()[-3000:]}")


@pytest.fixture(scope="session")
def _fault_stack(tmp_path_factory):
    logs = tmp_path_factory.mktemp("faults")
    with (
        harness.private_postgres() as postgres,
        harness.private_redis() as cache,
        fault_stack(postgres, cache, postgres.url, cache.url, logs) as stack,
    ):
        yield stack


def fault_env(database_url: str, redis_url: str, port: int, **extra: str) -> dict:
    """Warden's environment in the fault tests: production-like, limits out of the way."""
    return e2e.warden_env(
        database_url=database_url,
        redis_url=redis_url,
        issuer=f"http://127.0.0.1:{port}",
        CACHE_KEY_PREFIX="warden-faults",
        LOGIN_ATTEMPTS_LIMIT=str(LOGIN_ATTEMPTS_LIMIT),
        LOGIN_IP_RATE="10000/m",
        CLIENT_AUTH_FAILURES_PER_MINUTE="10000",
        TOKEN_FAILURES_PER_MINUTE="10000",
        # The Argon2 hasher is real here: one at a time per worker is enough for tests.
        WEB_CONCURRENCY="2",
        GUNICORN_THREADS="4",
        **extra,
    )


@contextlib.contextmanager
def fault_stack(postgres, cache, database_url: str, redis_url: str, logs, **extra: str):
    """Migrate and seed the database, serve Warden under gunicorn on it; stop it at the end."""
    port = e2e.free_port()
    env = fault_env(database_url, redis_url, port, **extra)
    e2e.manage(env, "migrate", "--noinput")
    client = e2e.manage_json(env, SEED)
    warden = e2e.start_warden("warden", port=port, env=env, log_dir=logs)
    try:
        yield Stack(
            url=f"http://127.0.0.1:{port}",
            postgres=postgres,
            redis=cache,
            warden=warden,
            client_id=client["client_id"],
            client_secret=client["client_secret"],
            env=env,
        )
    finally:
        warden.stop()


@pytest.fixture
def stack(_fault_stack) -> Stack:
    """The stack with both backends up and Warden answering, whatever a test before left."""
    _fault_stack.postgres.start()
    _fault_stack.redis.start()
    _fault_stack.wait_ready()
    return _fault_stack
