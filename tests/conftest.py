"""Shared fixtures, plus the rules for tests that need real parts (PostgreSQL, Redis, ...)."""

import os
import shutil
import socket
from urllib.parse import urlparse

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts import tokens
from accounts.flows.clients import service_client_create
from accounts.models import User

PASSWORD = "correct-horse-battery-9"
_bad_skips: list[str] = []


def on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def redis_url() -> str:
    return os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"


def redis_reachable() -> bool:
    parsed = urlparse(redis_url())
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 6379), timeout=0.5):
            return True
    except OSError:
        return False


CHROMIUM = "/usr/bin/chromium"


def nginx_installed() -> bool:
    return bool(shutil.which("nginx") or os.access("/usr/sbin/nginx", os.X_OK))


def pytest_collection_modifyitems(config, items):
    postgres = on_postgres()
    redis = redis_reachable()
    chromium = os.path.exists(CHROMIUM)
    nginx = nginx_installed()
    from tests.faults.harness import postgres_bindir, redis_binary

    pg_bindir, redis_server = postgres_bindir(), redis_binary()
    node = bool(shutil.which("node") and shutil.which("npm"))
    from tests.oidc.test_apache_rp import apache_available

    apache = apache_available()
    from tests.e2e.harness import apache_missing

    apache_oauth2_missing = apache_missing("mod_oauth2")
    for item in items:
        if item.get_closest_marker("browser") and not chromium:
            item.add_marker(
                pytest.mark.skip(reason=f"needs chromium: {CHROMIUM} missing (make system-deps)")
            )
        if item.get_closest_marker("postgres") and not postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL"))
        if item.get_closest_marker("redis") and not redis:
            item.add_marker(pytest.mark.skip(reason=f"needs Redis at {redis_url()}"))
        if item.get_closest_marker("nginx") and not nginx:
            reason = "needs nginx: apt-get install nginx-light (make system-deps does it)"
            item.add_marker(pytest.mark.skip(reason=reason))
        if item.get_closest_marker("wrk") and not shutil.which("wrk"):
            item.add_marker(pytest.mark.skip(reason="needs wrk: not installed (make system-deps)"))
        if item.get_closest_marker("faults") and not (pg_bindir and redis_server):
            missing = "PostgreSQL server binaries (initdb, postgres)" if not pg_bindir else ""
            missing = missing or "redis-server"
            item.add_marker(pytest.mark.skip(reason=f"needs {missing}: none found"))
        elif item.get_closest_marker("failover") and not (pg_bindir / "pg_basebackup").is_file():
            reason = f"needs pg_basebackup next to initdb in {pg_bindir} (Debian: postgresql)"
            item.add_marker(pytest.mark.skip(reason=reason))
        if item.get_closest_marker("apache") and not apache:
            reason = "needs Apache mod_auth_openidc: apt-get install apache2 "
            reason += "libapache2-mod-auth-openidc (make system-deps does it)"
            item.add_marker(pytest.mark.skip(reason=reason))
        if item.get_closest_marker("apache_oauth2") and apache_oauth2_missing:
            reason = f"needs Apache mod_oauth2: {apache_oauth2_missing}; apt-get install apache2 "
            reason += "libapache2-mod-oauth2 (make system-deps does it)"
            item.add_marker(pytest.mark.skip(reason=reason))
        if item.get_closest_marker("node") and not node:
            reason = "needs Node: node (20+) and npm not both on PATH (the SDK and RP tests)"
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_runtest_logreport(report):
    # In CI every part is installed, so a skip means a part went missing: that must fail.
    # The one allowed skip is a PostgreSQL-only test during the SQLite run.
    if report.skipped and os.environ.get("WARDEN_STRICT_SKIPS"):
        reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else ""
        reason = reason.removeprefix("Skipped: ")  # pytest prefixes the reason it reports
        if not (reason.startswith("needs PostgreSQL") and not on_postgres()):
            _bad_skips.append(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session, exitstatus):
    if _bad_skips:
        print("\nWARDEN_STRICT_SKIPS: these tests skipped although CI has every part:")
        for line in _bad_skips:
            print(f"  {line}")
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def _fresh_state():
    """Each test starts with an empty cache and reloads signing keys from its own database."""
    cache.clear()
    tokens.keyring.invalidate()
    tokens.check.forget_verified()
    yield
    cache.clear()


@pytest.fixture
def make_user(db):
    def make(email: str = "ann@example.com", *, verified: bool = True, **extra) -> User:
        user = User.objects.create_user(email=email, password=PASSWORD, **extra)
        EmailAddress.objects.create(user=user, email=user.email, verified=verified, primary=True)
        return user

    return make


@pytest.fixture
def user(make_user) -> User:
    return make_user()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def login(api):
    """Sign a user in through the API and return the token response."""

    def do(email: str = "ann@example.com", password: str = PASSWORD) -> dict:
        response = api.post(
            "/api/auth/login", {"email": email, "password": password}, format="json"
        )
        assert response.status_code == 200, response.content
        return response.json()

    return do


@pytest.fixture
def service_client(db):
    client, secret = service_client_create(
        name="orders", scopes=["inventory:read", "inventory:write"]
    )
    return client, secret


# --- Google stand-in (tests/google_standin.py) --------------------------------------------------


@pytest.fixture(scope="session")
def _google_standin_server():
    """One stand-in per run, on the address config/settings/test.py gave allauth at import."""
    from tests.google_standin import GoogleStandin

    address = urlparse(settings.GOOGLE_OAUTH_BASE_URL)
    try:
        standin = GoogleStandin(
            host=address.hostname,
            port=address.port,
            client_id=settings.GOOGLE_CLIENT_ID,
            client_secret=settings.GOOGLE_CLIENT_SECRET,
        ).start()
    except OSError as exc:
        raise RuntimeError(
            f"The tests start their own Google stand-in at {settings.GOOGLE_OAUTH_BASE_URL} "
            f"(GOOGLE_OAUTH_BASE_URL) and cannot listen there: {exc}. Unset it, or stop "
            "whatever uses that port."
        ) from exc
    yield standin
    standin.stop()


@pytest.fixture
def google(_google_standin_server):
    """The running Google stand-in, with no codes, tokens or failure switches left over."""
    _google_standin_server.reset()
    return _google_standin_server
