"""The running fleet for end-to-end tests: two Warden instances under gunicorn on PostgreSQL
and Redis, nginx as the gateway, and the "orders" and "inventory" services.

Everything binds 127.0.0.1, logs into the test's temporary directory, and is stopped in the
fixture's finalizer, also when a test fails.
"""

import os

import pytest
from django.conf import settings

from tests.conftest import PASSWORD, redis_url
from tests.e2e import harness
from tests.e2e.services import make_inventory_app, make_orders_app
from warden_client import ServiceTokenClient, TokenVerifier

LOGIN_ATTEMPTS_LIMIT = 3
KEYRING_REFRESH_SECONDS = 2
KEY_PUBLISH_SECONDS = 4

SEED = f"""
import json
from allauth.account.models import EmailAddress
from accounts.flows.clients import service_client_create
from accounts.models import Role, User
USERS = (
    ("ann@example.com", ["user"]),
    ("root@example.com", ["user", "admin"]),
    ("mallory-target@example.com", ["user"]),  # the rate-limit test locks this one
)
for email, roles in USERS:
    user = User.objects.create_user(email=email, password={PASSWORD!r})
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    for name in roles:
        user.groups.add(Role.objects.get_or_create(name=name)[0])
client, secret = service_client_create(name="orders", scopes=["inventory:read"])
print(json.dumps({{"client_id": client.client_id, "client_secret": secret}}))
"""


@pytest.fixture(scope="session")
def e2e_ports() -> dict:
    return {name: harness.free_port() for name in ("gateway", "warden_a", "warden_b", "orders")}


@pytest.fixture(scope="session")
def fleet_env(e2e_ports, tmp_path_factory):
    """A fresh, migrated, seeded database next to the test database; dropped at the end."""
    database_url = os.environ.get("WARDEN_E2E_DATABASE_URL") or harness.sibling_database_url(
        os.environ["DATABASE_URL"], "_e2e"
    )
    harness.recreate_database(database_url)
    e2e_redis = os.environ.get("WARDEN_E2E_REDIS_URL") or redis_url()
    harness.forget_cache(e2e_redis, "warden-e2e")  # rate limits left by an earlier run
    env = harness.warden_env(
        database_url=database_url,
        redis_url=e2e_redis,
        issuer=f"http://127.0.0.1:{e2e_ports['gateway']}",
        LOGIN_ATTEMPTS_LIMIT=str(LOGIN_ATTEMPTS_LIMIT),
        LOGIN_IP_RATE="1000/m",
        TRUSTED_PROXY_COUNT="1",  # nginx appends the client address to X-Forwarded-For
        # Real publish-before-sign timing, compressed so a rotation test takes seconds.
        KEYRING_REFRESH_SECONDS=str(KEYRING_REFRESH_SECONDS),
        KEY_PUBLISH_SECONDS=str(KEY_PUBLISH_SECONDS),
    )
    try:
        harness.manage(env, "migrate", "--noinput")
        orders_client = harness.manage_json(env, SEED)
        yield {"env": env, "orders_client": orders_client, "logs": tmp_path_factory.mktemp("e2e")}
    finally:
        harness.recreate_database(database_url, drop_only=True)


@pytest.fixture(scope="session")
def wardens(fleet_env, e2e_ports) -> dict:
    """Two Warden instances on different ports sharing PostgreSQL and Redis."""
    started = {}
    try:
        for name in ("warden_a", "warden_b"):
            started[name] = harness.start_warden(
                name, port=e2e_ports[name], env=fleet_env["env"], log_dir=fleet_env["logs"]
            )
        yield {
            "a": f"http://127.0.0.1:{e2e_ports['warden_a']}",
            "b": f"http://127.0.0.1:{e2e_ports['warden_b']}",
            "processes": started,
        }
    finally:
        for process in started.values():
            process.stop()


@pytest.fixture(scope="session")
def gateway(wardens, fleet_env, e2e_ports, tmp_path_factory) -> dict:
    """nginx in front of both Wardens and "orders"; "inventory" reachable only east-west."""
    tmp = tmp_path_factory.mktemp("nginx")
    issuer = fleet_env["env"]["WARDEN_ISSUER"]
    audience = settings.WARDEN_AUDIENCE
    inventory_port = harness.free_port()
    inventory = harness.ThreadedService(
        make_inventory_app(
            verifier=TokenVerifier(issuer=issuer, audience=audience, base_url=wardens["b"])
        ),
        inventory_port,
    )
    service_tokens = ServiceTokenClient(
        base_url=wardens["a"], scope="inventory:read", **fleet_env["orders_client"]
    )
    orders = None
    nginx = None
    try:
        orders = harness.ThreadedService(
            make_orders_app(inventory_url=inventory.url, service_tokens=service_tokens),
            e2e_ports["orders"],
        )
        nginx = harness.start_gateway(tmp, ports=e2e_ports)
        yield {
            "url": issuer,
            "inventory": inventory.url,
            "orders_client_id": fleet_env["orders_client"]["client_id"],
            "nginx_dir": tmp,
        }
    finally:
        if nginx is not None:
            nginx.stop()
        if orders is not None:
            orders.stop()
        inventory.stop()
