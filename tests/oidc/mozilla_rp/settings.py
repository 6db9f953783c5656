"""Settings of the mozilla-django-oidc relying party: Warden's endpoints, the client's
credentials and the SQLite path come from the environment that starts it."""

import os

import requests

# mozilla-django-oidc takes endpoints, not an issuer: read them off Warden's discovery.
DISCOVERY = requests.get(
    os.environ["RP_WARDEN_ISSUER"].rstrip("/") + "/.well-known/openid-configuration", timeout=10
).json()

SECRET_KEY = "mozilla-rp-test-only-" + "0" * 40
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = "tests.oidc.mozilla_rp.urls"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "mozilla_django_oidc",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["RP_DATABASE"]}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
# Warden and this app are both on 127.0.0.1, and cookies ignore the port: names of its own
# keep a browser's Warden session and this app's session apart.
SESSION_COOKIE_NAME = "rp_sessionid"
CSRF_COOKIE_NAME = "rp_csrftoken"

AUTHENTICATION_BACKENDS = ["mozilla_django_oidc.auth.OIDCAuthenticationBackend"]
LOGIN_URL = "/oidc/authenticate/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

OIDC_RP_CLIENT_ID = os.environ["RP_CLIENT_ID"]
OIDC_RP_CLIENT_SECRET = os.environ["RP_CLIENT_SECRET"]
OIDC_RP_SCOPES = "openid email profile"
OIDC_RP_SIGN_ALGO = os.environ.get("RP_SIGN_ALGO", "RS256")
OIDC_USE_PKCE = True
OIDC_OP_AUTHORIZATION_ENDPOINT = DISCOVERY["authorization_endpoint"]
OIDC_OP_TOKEN_ENDPOINT = DISCOVERY["token_endpoint"]
OIDC_OP_USER_ENDPOINT = DISCOVERY["userinfo_endpoint"]
OIDC_OP_JWKS_ENDPOINT = DISCOVERY["jwks_uri"]
OIDC_TIMEOUT = 10

LOGGING = {
    "version": 1,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"mozilla_django_oidc": {"handlers": ["console"], "level": "DEBUG"}},
}
