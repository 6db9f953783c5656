"""The failed-login budget: allauth's rates, spent before the hash, in one Redis round trip."""

import threading

import pytest
from django.core.cache import cache
from django.test import RequestFactory
from redis import connection as redis_connection

from accounts import allauth_compat, ratelimit
from tests.conftest import PASSWORD, redis_url

pytestmark = pytest.mark.django_db

REDIS_CACHE = {
    "default": {
        "BACKEND": "config.cache.WardenRedisCache",
        "LOCATION": redis_url(),
        "KEY_PREFIX": "warden-test-attempts",
    }
}


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def each_cache(request, settings):
    """Each test runs on the per-process memory cache and on Redis (what production uses)."""
    if request.param == "redis":
        settings.CACHES = REDIS_CACHE
    cache.clear()
    yield request.param
    cache.clear()


@pytest.fixture
def redis_cache(settings):
    settings.CACHES = REDIS_CACHE
    cache.clear()
    yield
    cache.clear()


def login(api, password, email="ann@example.com", **extra):
    return api.post(
        "/api/auth/login", {"email": email, "password": password}, format="json", **extra
    )


def test_a_right_password_gives_its_attempt_back(each_cache, api, user, settings):
    limit = settings.WARDEN_LOGIN_ATTEMPTS_LIMIT
    for _ in range(limit - 1):
        assert login(api, "wrong-password-1").status_code == 400
    for _ in range(3):
        assert login(api, PASSWORD).status_code == 200
    assert login(api, "wrong-password-1").status_code == 400  # the last attempt was still there
    assert login(api, PASSWORD).status_code == 429


def test_failures_older_than_the_window_no_longer_count(each_cache, api, user, monkeypatch):
    now = [1_000_000.0]
    monkeypatch.setattr(ratelimit.time, "time", lambda: now[0])
    for _ in range(5):
        assert login(api, "wrong-password-1").status_code == 400
    now[0] += 299
    assert login(api, PASSWORD).status_code == 429
    now[0] += 2  # 301 s after the failures: allauth's window ("5/300s/key") has moved past
    assert login(api, PASSWORD).status_code == 200


def test_the_window_slides_rather_than_resetting(each_cache, api, user, monkeypatch):
    now = [1_000_000.0]
    monkeypatch.setattr(ratelimit.time, "time", lambda: now[0])
    assert login(api, "wrong-password-1").status_code == 400
    now[0] += 200
    for _ in range(4):
        assert login(api, "wrong-password-1").status_code == 400
    now[0] += 101  # the first failure left the window; the other four are in it
    assert login(api, "wrong-password-1").status_code == 400
    assert login(api, PASSWORD).status_code == 429


def test_failures_from_one_ip_are_limited_across_accounts(each_cache, api, make_user, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "3/m/ip"}
    for n in range(3):
        make_user(f"user{n}@example.com")
        assert login(api, "wrong-password-1", f"user{n}@example.com").status_code == 400
    assert login(api, PASSWORD, "user0@example.com").status_code == 429
    assert login(api, PASSWORD, "user0@example.com", REMOTE_ADDR="198.51.100.7").status_code == 200


def test_a_refused_attempt_spends_nothing(each_cache, api, make_user, settings):
    # allauth spent the IP's attempt even when the account's budget then refused the sign-in.
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "4/m/ip"}
    settings.ACCOUNT_RATE_LIMITS["login_failed"] += ",2/m/key"
    make_user("bob@example.com")
    for _ in range(2):
        assert login(api, "wrong-password-1").status_code == 400
    for _ in range(5):
        assert login(api, PASSWORD).status_code == 429
    # Two of the IP's four attempts spent: allauth would have counted seven by now.
    assert login(api, PASSWORD, "bob@example.com").status_code == 200
    for _ in range(2):
        assert login(api, "wrong-password-1", "bob@example.com").status_code == 400
    assert login(api, PASSWORD, "carol@example.com").status_code == 429  # now the IP's


class RoundTrips:
    """Redis round trips this thread makes through redis-py (a script call is one); the
    revocation listener's own thread is not counted."""

    def __init__(self, monkeypatch) -> None:
        self.count, thread = 0, threading.get_ident()
        send = redis_connection.AbstractConnection.send_packed_command

        def counted(conn, command, check_health=True):
            self.count += threading.get_ident() == thread
            return send(conn, command, check_health)

        monkeypatch.setattr(redis_connection.AbstractConnection, "send_packed_command", counted)


@pytest.mark.redis
def test_a_sign_in_costs_two_redis_round_trips_and_a_failure_one(
    redis_cache, api, user, monkeypatch
):
    assert login(api, PASSWORD).status_code == 200  # loads the scripts into Redis once
    trips = RoundTrips(monkeypatch)
    assert login(api, PASSWORD).status_code == 200
    # Reserve before the hash, give back after it; allauth's limiter made 16.
    assert trips.count <= 2, trips.count
    trips.count = 0
    assert login(api, "wrong-password-1").status_code == 400
    assert trips.count <= 1, trips.count
    trips.count = 0
    for _ in range(5):
        login(api, "wrong-password-1")
    trips.count = 0
    assert login(api, PASSWORD).status_code == 429
    assert trips.count <= 1, trips.count


@pytest.mark.redis
def test_scripts_are_loaded_again_after_redis_forgets_them(redis_cache, api, user):
    assert login(api, PASSWORD).status_code == 200
    ratelimit._redis(ratelimit.caches["default"]).script_flush()  # a restarted Redis
    assert login(api, PASSWORD).status_code == 200
    assert login(api, "wrong-password-1").status_code == 400


def test_windows_follow_allauths_rates_and_its_ipv6_networks(settings):
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "30/m/ip,5/300s/key"}
    one = RequestFactory().post("/", REMOTE_ADDR="2001:db8:1:2:3:4:5:6")
    other = RequestFactory().post("/", REMOTE_ADDR="2001:db8:1:2:ffff::1")
    ip, account = allauth_compat.login_failed_windows(one, key="account:ann@example.com")
    assert (ip.limit, ip.seconds, account.limit, account.seconds) == (30, 60, 5, 300)
    assert "ann@example.com" not in account.key  # hashed, as allauth does
    # One /64 (allauth's RATE_LIMIT_IPV6_PREFIX) is one budget.
    assert ip == allauth_compat.login_failed_windows(other, key="account:x")[0]
