"""The TypeScript SDK (clients/js): its build, its node tests against a live Warden, its package.

Warden runs under gunicorn (tests/e2e/harness.py) on its own SQLite database in a temporary
directory, so this runs the same with or without PostgreSQL and Redis. The node tests get the
server's address and the accounts made here through WARDEN_* variables.
"""

import json
import os
import shutil
import subprocess
import tarfile

import pytest

from tests.conftest import PASSWORD
from tests.e2e import harness

pytestmark = pytest.mark.node

JS = harness.REPO / "clients" / "js"

SEED = f"""
import json
from allauth.account.models import EmailAddress
from accounts.models import Role, User
from tests.mfa_support import enrol_totp
made = {{}}
for email, roles in (
    ("ann@example.com", ["user"]),
    ("root@example.com", ["user", "admin"]),
    ("tess@example.com", ["user"]),
):
    user = User.objects.create_user(email=email, password={PASSWORD!r})
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    for name in roles:
        user.groups.add(Role.objects.get_or_create(name=name)[0])
    made[email] = user
print(json.dumps({{"totp_secret": enrol_totp(made["tess@example.com"])}}))
"""


def run(args: list[str], *, env: dict | None = None, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        args,
        cwd=JS,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def output_of(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


@pytest.fixture(scope="module")
def npm_packages() -> None:
    harness.npm_packages_present(JS)


@pytest.fixture(scope="module")
def built(npm_packages) -> None:
    result = run(["npm", "run", "build"], timeout=120)
    assert result.returncode == 0, output_of(result)


@pytest.fixture(scope="module")
def js_warden(tmp_path_factory):
    """A live Warden on a free loopback port, with users, a TOTP user, a service client and a
    revocation-feed receiver (a service client holding ssf:poll)."""
    tmp = tmp_path_factory.mktemp("js-warden")
    with harness.one_worker_warden("warden-js", tmp, seed=SEED) as live:
        seeded = live["seeded"]
        seeded.update(
            harness.service_client(live["env"], "orders", "inventory:read", "inventory:write")
        )
        made = harness.service_client(live["env"], "feed", "ssf:poll")
        seeded.update(receiver_id=made["client_id"], receiver_secret=made["client_secret"])
        yield {"url": live["url"], "issuer": live["url"], "process": live["process"], **seeded}


def test_node_tests_pass_against_live_warden(built, js_warden):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update(
        WARDEN_URL=js_warden["url"],
        WARDEN_ISSUER=js_warden["issuer"],
        WARDEN_AUDIENCE="warden",
        WARDEN_USER_EMAIL="ann@example.com",
        WARDEN_ADMIN_EMAIL="root@example.com",
        WARDEN_TOTP_EMAIL="tess@example.com",
        WARDEN_TOTP_SECRET=js_warden["totp_secret"],
        WARDEN_PASSWORD=PASSWORD,
        WARDEN_CLIENT_ID=js_warden["client_id"],
        WARDEN_CLIENT_SECRET=js_warden["client_secret"],
        WARDEN_CLIENT_SCOPE="inventory:read",
        WARDEN_RECEIVER_ID=js_warden["receiver_id"],
        WARDEN_RECEIVER_SECRET=js_warden["receiver_secret"],
        NO_COLOR="1",
    )
    files = sorted(str(path.relative_to(JS)) for path in (JS / "test").glob("*.test.js"))
    assert files, "no node tests in clients/js/test"
    result = run(["node", "--test", "--test-concurrency=1", *files], env=env, timeout=120)
    log = js_warden["process"].log()[-4000:]
    assert result.returncode == 0, f"{output_of(result)}\n--- warden log\n{log}"
    assert "# fail 0" in result.stdout, output_of(result)
    assert "# skipped 0" in result.stdout, output_of(result)
    # The revocation feed's latency figures (clients/js/test/feed.test.js), shown with -s.
    for line in result.stdout.splitlines():
        if line.startswith("# revocation feed:"):
            print(f"\n{line[2:]}")


def test_readme_usage_type_checks_against_the_built_declarations(built):
    # test/usage.ts imports "@warden/client" as a consumer would, express types included.
    result = run(["npm", "run", "typecheck:usage"], timeout=120)
    assert result.returncode == 0, output_of(result)


def test_npm_pack_ships_dist_and_depends_only_on_jose(built, tmp_path):
    result = run(
        ["npm", "pack", "--json", "--ignore-scripts", "--pack-destination", str(tmp_path)],
        env={**os.environ, "npm_config_update_notifier": "false"},
        timeout=120,
    )
    assert result.returncode == 0, output_of(result)
    packed = json.loads(result.stdout)
    tarball = tmp_path / packed[0]["filename"]
    with tarfile.open(tarball) as archive:
        names = set(archive.getnames())
        manifest = json.load(archive.extractfile("package/package.json"))
    assert {"package/dist/index.js", "package/dist/index.d.ts", "package/README.md"} <= names
    assert not [n for n in names if n.startswith(("package/node_modules", "package/test/"))]
    assert manifest["name"] == "@warden/client"
    assert manifest["type"] == "module"
    assert list(manifest["dependencies"]) == ["jose"]
    assert "express" not in manifest.get("peerDependencies", {})


def test_node_and_npm_are_the_ones_the_package_needs():
    version = subprocess.run(
        [shutil.which("node") or "node", "--version"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.strip()
    assert int(version.lstrip("v").split(".")[0]) >= 20, f"the SDK needs Node 20+, found {version}"
