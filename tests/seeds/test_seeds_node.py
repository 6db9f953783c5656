"""The seed documents' client code, run as written with Node against a live Warden.

Each seed*.js / seed*.ts file here is a snippet copied verbatim from a seed document;
load.js supplies only what the snippet's own file would import and swaps the addresses and
credentials written in it; driver.js calls the snippets and checks what they get back. Warden
runs under gunicorn (tests/e2e/harness.py) on its own SQLite database, with short token
lifetimes so expiry and the refresh grace can be seen within seconds.
"""

import os
import subprocess

import pytest

from tests.client.test_js_sdk import output_of
from tests.conftest import PASSWORD
from tests.e2e import harness

pytestmark = pytest.mark.node

SEEDS = harness.REPO / "tests" / "seeds"
ACCESS_TOKEN_LIFETIME = 4
REFRESH_REUSE_GRACE = 1

SEED_USERS = f"""
import json
from allauth.account.models import EmailAddress
from accounts.models import Role, User
for email, roles in (("ann@example.com", ["user"]), ("root@example.com", ["user", "admin"])):
    user = User.objects.create_user(email=email, password={PASSWORD!r})
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    for name in roles:
        user.groups.add(Role.objects.get_or_create(name=name)[0])
print(json.dumps({{}}))
"""


@pytest.fixture(scope="module")
def npm_packages() -> None:
    harness.npm_packages_present(SEEDS)


@pytest.fixture(scope="module")
def seeds_warden(tmp_path_factory):
    """A live Warden with a user, an admin and a service client, its tokens short-lived."""
    tmp = tmp_path_factory.mktemp("seeds-warden")
    with harness.one_worker_warden(
        "warden-seeds",
        tmp,
        seed=SEED_USERS,
        ACCESS_TOKEN_LIFETIME=str(ACCESS_TOKEN_LIFETIME),
        TOKEN_LEEWAY_SECONDS="0",
        REFRESH_REUSE_GRACE_SECONDS=str(REFRESH_REUSE_GRACE),
    ) as live:
        credentials = harness.service_client(live["env"], "orders", "inventory:read")
        yield {"url": live["url"], "process": live["process"], **credentials}


def test_seed_snippets_work_against_warden_as_written(npm_packages, seeds_warden):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update(
        WARDEN_URL=seeds_warden["url"],
        WARDEN_USER_EMAIL="ann@example.com",
        WARDEN_ADMIN_EMAIL="root@example.com",
        WARDEN_PASSWORD=PASSWORD,
        WARDEN_CLIENT_ID=seeds_warden["client_id"],
        WARDEN_CLIENT_SECRET=seeds_warden["client_secret"],
        WARDEN_ACCESS_TOKEN_LIFETIME=str(ACCESS_TOKEN_LIFETIME),
        WARDEN_REFRESH_REUSE_GRACE=str(REFRESH_REUSE_GRACE),
        NO_COLOR="1",
    )
    result = subprocess.run(
        ["node", "driver.js"],
        cwd=SEEDS,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        stdin=subprocess.DEVNULL,
    )
    log = seeds_warden["process"].log()[-4000:]
    assert result.returncode == 0, f"{output_of(result)}\n--- warden log\n{log}"
    passed = [line[3:] for line in result.stdout.splitlines() if line.startswith("ok ")]
    assert len(passed) == 8, output_of(result)
