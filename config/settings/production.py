"""Production settings: refuse to start half-configured, and pass `check --deploy` cleanly."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env, require

PRODUCTION = True
DEBUG = False

SECRET_KEY = env("SECRET_KEY", default="")
require("SECRET_KEY", SECRET_KEY)
if SECRET_KEY.startswith("django-insecure") or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be a random string of 50+ characters.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
require("ALLOWED_HOSTS", ALLOWED_HOSTS)
WARDEN_KEY_ENCRYPTION_KEY = env("WARDEN_KEY_ENCRYPTION_KEY", default="")
WARDEN_KEY_ENCRYPTION_KEYS = env.list("WARDEN_KEY_ENCRYPTION_KEYS", default=[])
if not WARDEN_KEY_ENCRYPTION_KEYS:
    require("WARDEN_KEY_ENCRYPTION_KEY", WARDEN_KEY_ENCRYPTION_KEY)
if any(len(k) < 32 for k in WARDEN_KEY_ENCRYPTION_KEYS or [WARDEN_KEY_ENCRYPTION_KEY]):
    raise ImproperlyConfigured("Each key-encryption key must be 32 or more random characters.")
WARDEN_ISSUER = env("WARDEN_ISSUER", default="")
require("WARDEN_ISSUER", WARDEN_ISSUER)
if WARDEN_KEY_PUBLISH_SECONDS <= WARDEN_KEYRING_REFRESH_SECONDS:  # noqa: F405
    raise ImproperlyConfigured(
        "KEY_PUBLISH_SECONDS must exceed KEYRING_REFRESH_SECONDS, or a new key could sign "
        "before every instance publishes it."
    )

EMAIL_BACKEND = env("EMAIL_BACKEND", default="") or "django.core.mail.backends.smtp.EmailBackend"
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https"

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
STATIC_ROOT = env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))  # noqa: F405
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = False
if GOOGLE_OAUTH_BASE_URL:  # noqa: F405
    # The stand-in signs whatever identity is typed into it: never trust it in production.
    raise ImproperlyConfigured("GOOGLE_OAUTH_BASE_URL is for the local Google stand-in only.")
