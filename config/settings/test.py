"""Test settings: fast hashing and in-memory mail; databases and caches still come from env."""

import os
import socket


def _free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Google sign-in is configured against the local stand-in that tests/conftest.py starts
# (tests/google_standin.py). allauth's Google provider reads its endpoint URLs once, at import,
# so the stand-in's address must be in the environment before base.py runs: a free loopback
# port is picked here, unless the caller fixed GOOGLE_OAUTH_BASE_URL, and the `google_standin`
# fixture listens on exactly that address.
os.environ.setdefault("GOOGLE_OAUTH_BASE_URL", f"http://127.0.0.1:{_free_loopback_port()}")
os.environ.setdefault("GOOGLE_CLIENT_ID", "warden-test-web.apps.googleusercontent.com")
os.environ.setdefault("GOOGLE_CLIENT_SECRET", "warden-test-secret")
os.environ.setdefault("GOOGLE_CLIENT_IDS", "warden-test-ios.apps.googleusercontent.com")

from .base import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SECRET_KEY = "test-secret-key-not-for-production-0123456789abcdefghijklmnop"
WARDEN_KEY_ENCRYPTION_KEY = "test-key-encryption-key"
# A rotated key signs at once in unit tests; tests/e2e runs real instances with a real delay.
WARDEN_KEY_PUBLISH_SECONDS = 0
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
