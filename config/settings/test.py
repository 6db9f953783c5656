"""Test settings: fast hashing and in-memory mail; databases and caches still come from env."""

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SECRET_KEY = "test-secret-key-not-for-production-0123456789abcdefghijklmnop"
WARDEN_KEY_ENCRYPTION_KEY = "test-key-encryption-key"
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
