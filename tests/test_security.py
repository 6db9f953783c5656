"""Brute-force limits, lockout, enumeration resistance, security headers and CORS."""

import base64
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from accounts.models import User
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parent.parent


def api_login(client, email, password):
    return client.post(
        "/api/auth/login", {"email": email, "password": password}, content_type="application/json"
    )


@pytest.mark.django_db
def test_locked_account_answers_429_even_for_the_right_password(api, user, settings):
    for _ in range(settings.WARDEN_LOGIN_ATTEMPTS_LIMIT):
        assert api_login(api, user.email, "wrong-password-1").status_code == 400
    locked = api_login(api, user.email, PASSWORD)
    assert locked.status_code == 429
    assert locked.json()["error"] == "rate_limited" and locked.json()["error_description"]
    assert int(locked["Retry-After"]) > 0


@pytest.mark.django_db
def test_password_grant_shares_the_lockout_with_login(api, user, settings):
    for _ in range(settings.WARDEN_LOGIN_ATTEMPTS_LIMIT):
        api_login(api, user.email, "wrong-password-1")
    response = api.post(
        "/api/auth/token",
        f"grant_type=password&username={user.email}&password={PASSWORD}",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 429 and response.json()["error"] == "rate_limited"


@pytest.mark.django_db
def test_web_sign_in_page_answers_429_with_retry_after_when_locked(client, user, settings):
    for _ in range(settings.WARDEN_LOGIN_ATTEMPTS_LIMIT):
        client.post("/accounts/login/", {"login": user.email, "password": "wrong-password-1"})
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert b"Too many failed login attempts" in response.content
    assert client.get("/accounts/profile/").status_code == 302, "not signed in"


@pytest.mark.django_db
def test_password_reset_requests_are_limited(client, user):
    statuses = [
        client.post("/accounts/password/reset/", {"email": user.email}).status_code
        for _ in range(8)
    ]
    assert statuses[0] == 302 and 429 in statuses


@pytest.mark.django_db
def test_failed_client_authentication_is_limited_per_ip(api, service_client, settings):
    client, secret = service_client

    def grant(secret_):
        auth = base64.b64encode(f"{client.client_id}:{secret_}".encode()).decode()
        return api.post(
            "/api/auth/token",
            "grant_type=client_credentials",
            content_type="application/x-www-form-urlencoded",
            HTTP_AUTHORIZATION=f"Basic {auth}",
        )

    for _ in range(settings.WARDEN_CLIENT_AUTH_FAILURES_PER_MINUTE):
        assert grant("wrong").status_code == 401
    blocked = grant(secret)
    assert blocked.status_code == 429 and int(blocked["Retry-After"]) > 0
    settings.RATE_LIMIT_EXEMPT_IPS = ["127.0.0.0/8"]
    assert grant(secret).status_code == 200


@pytest.mark.django_db
def test_token_guessing_on_verify_is_limited_but_valid_tokens_always_pass(
    api, user, login, settings
):
    settings.WARDEN_TOKEN_FAILURES_PER_MINUTE = 5
    token = login()["access_token"]
    statuses = [
        api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer guess{i}").status_code
        for i in range(7)
    ]
    assert statuses[:5] == [401] * 5 and statuses[5:] == [429, 429]
    limited = api.get("/api/auth/verify", HTTP_AUTHORIZATION="Bearer guess")
    assert limited.json()["error"] == "rate_limited" and limited.json()["active"] is False
    assert api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


@pytest.mark.django_db
def test_unknown_email_and_wrong_password_take_similar_time(api, make_user, settings):
    """Both run one real Argon2id hash, so timing does not reveal which emails exist."""
    settings.PASSWORD_HASHERS = ["accounts.hashers.WardenArgon2PasswordHasher"]
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "1000/m/ip,1000/m/key"}
    make_user("real@example.com")

    def timed(email):
        start = time.perf_counter()
        response = api_login(api, email, "wrong-password-1")
        assert response.status_code == 400
        return time.perf_counter() - start

    known = statistics.median(timed("real@example.com") for _ in range(9))
    unknown = statistics.median(timed(f"ghost{i}@example.com") for i in range(9))
    # Skipping the hash for unknown emails would make them ~100x faster; load on a shared
    # machine moves medians by far less than 4x.
    assert 0.25 < known / unknown < 4.0, (known, unknown)
    assert min(known, unknown) > 0.005, "a real memory-hard hash ran in both cases"


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_fifty_parallel_wrong_passwords_run_at_most_the_limit_of_password_checks(
    make_user, settings, monkeypatch
):
    user = make_user("target@example.com")
    checks, lock = [], threading.Lock()
    original = User.check_password

    def counting(self, raw):
        with lock:
            checks.append(raw)
        return original(self, raw)

    monkeypatch.setattr(User, "check_password", counting)
    barrier = threading.Barrier(50)
    statuses, status_lock = [], threading.Lock()

    def attack():
        client = Client()
        barrier.wait()
        try:
            response = api_login(client, user.email, "wrong-password-1")
            with status_lock:
                statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attack) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(statuses) == 50
    assert len(checks) <= settings.WARDEN_LOGIN_ATTEMPTS_LIMIT, len(checks)
    assert statuses.count(400) == len(checks) and statuses.count(429) == 50 - len(checks)
    # Still locked for the owner's right password, and no hash is spent on it.
    before = len(checks)
    assert api_login(Client(), user.email, PASSWORD).status_code == 429
    assert len(checks) == before


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_two_processes_share_one_failed_login_limit(make_user, settings):
    make_user("shared@example.com")
    script = (
        "import json\n"
        "from django.test import Client\n"
        "c = Client()\n"
        "body = {'email': 'shared@example.com', 'password': 'nope-nope-1'}\n"
        "codes = [c.post('/api/auth/login', body, content_type='application/json',"
        " HTTP_HOST='127.0.0.1').status_code for _ in range(4)]\n"
        "print(json.dumps(codes))\n"
    )
    db = connection.settings_dict
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{host}:{port}/{db['NAME']}",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "manage.py", "shell", "--no-imports", "-c", script],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    codes = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        codes += __import__("json").loads(out.strip().splitlines()[-1])
    assert codes.count(400) == settings.WARDEN_LOGIN_ATTEMPTS_LIMIT, codes
    assert codes.count(429) == 8 - settings.WARDEN_LOGIN_ATTEMPTS_LIMIT


@pytest.mark.django_db
def test_html_pages_carry_csp_and_frame_denial(client):
    page = client.get("/accounts/login/")
    csp = page["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("style-src")[0]
    assert page["X-Frame-Options"] == "DENY" and page["X-Content-Type-Options"] == "nosniff"
    form = page.content.decode()
    assert 'name="csrfmiddlewaretoken"' in form


@pytest.mark.django_db
def test_sign_in_form_without_csrf_token_is_refused(user):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 403


@pytest.mark.django_db
def test_cors_allows_only_listed_origins(api, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    allowed = api.options(
        "/api/auth/login",
        HTTP_ORIGIN="https://app.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    assert allowed["Access-Control-Allow-Origin"] == "https://app.example.com"
    other = api.options(
        "/api/auth/login",
        HTTP_ORIGIN="https://evil.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    assert "Access-Control-Allow-Origin" not in other
