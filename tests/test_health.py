"""Health endpoints and production settings, checked in real subprocesses."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(code_or_args, env_extra: dict, *, manage: bool = False) -> subprocess.CompletedProcess:
    # GOOGLE_OAUTH_BASE_URL: the test settings point Google at the stand-in through the
    # environment, which production settings rightly refuse.
    dropped = ("SECRET_KEY", "DJANGO_SETTINGS_MODULE", "GOOGLE_OAUTH_BASE_URL")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(env_extra)
    args = (
        [sys.executable, "manage.py", *code_or_args]
        if manage
        else [sys.executable, "-c", code_or_args]
    )
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.django_db
def test_healthz_and_readyz_answer_ok(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ok"


def test_readyz_answers_503_with_reason_when_database_is_unreachable():
    code = (
        "from django.test import Client; r = Client().get('/readyz', HTTP_HOST='127.0.0.1');"
        "print(r.status_code, r.content.decode())"
    )
    result = run(
        ["shell", "-c", code],
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "DATABASE_URL": "postgres://nobody@127.0.0.1:9/nowhere",
        },
        manage=True,
    )
    assert result.stdout.strip().splitlines()[-1].startswith("503"), result.stderr
    assert '"reason": "database unreachable"' in result.stdout


PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "p" * 20 + "q8#kL2!vZr0mW7xYbN4sTjH6cF1eDgA9uQ3oIiPlKo",
    "ALLOWED_HOSTS": "auth.example.com",
    "WARDEN_KEY_ENCRYPTION_KEY": "another-long-random-value-for-keys",
    "WARDEN_ISSUER": "https://auth.example.com",
}


def test_production_settings_refuse_to_start_without_secret_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = run("import django; django.setup()", env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set in production" in result.stderr


def test_production_settings_refuse_to_start_without_allowed_hosts():
    env = {**PRODUCTION_ENV, "ALLOWED_HOSTS": ""}
    result = run("import django; django.setup()", env)
    assert result.returncode != 0 and "ALLOWED_HOSTS must be set" in result.stderr


def test_check_deploy_is_clean_in_production_settings():
    result = run(["check", "--deploy", "--fail-level", "WARNING"], PRODUCTION_ENV, manage=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_settings_refuse_the_google_stand_in():
    env = {**PRODUCTION_ENV, "GOOGLE_OAUTH_BASE_URL": "http://127.0.0.1:8001"}
    result = run("import django; django.setup()", env)
    assert result.returncode != 0 and "GOOGLE_OAUTH_BASE_URL is for the local" in result.stderr


@pytest.mark.parametrize(
    "keys",
    [
        {"WARDEN_KEY_ENCRYPTION_KEY": "too-short-0123456789"},
        {"WARDEN_KEY_ENCRYPTION_KEYS": "a-long-enough-key-encryption-key-0001,short"},
    ],
)
def test_production_refuses_a_key_encryption_key_under_32_characters(keys):
    env = {**PRODUCTION_ENV, "WARDEN_KEY_ENCRYPTION_KEY": "", **keys}
    result = run("import django; django.setup()", env)
    assert result.returncode != 0 and "32 or more" in result.stderr
