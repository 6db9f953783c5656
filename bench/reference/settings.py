"""Reference settings: Django's startproject defaults plus stock SimpleJWT, nothing tuned.

Kept fair on purpose: same database engine, same password hasher cost and the same RS256 key
size as Warden, so the ratios measure the code paths and not the configuration.
"""

from datetime import timedelta
from pathlib import Path

import environ

env = environ.Env()
WORK_DIR = Path(env("BENCH_WORK_DIR", default=str(Path(__file__).resolve().parents[1] / ".work")))

DEBUG = False
SECRET_KEY = env("SECRET_KEY", default="reference-bench-only-secret-key-0123456789abcdefghij")
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
]
# startproject's middleware list, minus admin-only bits.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "bench.reference.urls"
WSGI_APPLICATION = "bench.reference.wsgi.application"
TEMPLATES = []

DATABASES = {"default": env.db("REFERENCE_DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = 600  # as Warden: persistent connections
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The same Argon2id cost as Warden, so login compares code paths, not hasher settings.
PASSWORD_HASHERS = ["accounts.hashers.WardenArgon2PasswordHasher"]
WARDEN_HASH_CONCURRENCY = 1  # and the same cap on hashes running at once per worker

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
}


def _read(name: str) -> str:
    path = WORK_DIR / name
    return path.read_text() if path.exists() else ""


SIMPLE_JWT = {
    "ALGORITHM": "RS256",
    "SIGNING_KEY": _read("reference-private.pem"),
    "VERIFYING_KEY": _read("reference-public.pem"),
    "AUDIENCE": "reference",
    "ISSUER": "http://127.0.0.1",
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=15),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=7),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
}

USE_TZ = True
TIME_ZONE = "UTC"
LOGGING = {"version": 1, "disable_existing_loggers": False}
