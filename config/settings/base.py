"""Warden settings, read from the environment with safe development defaults."""

from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A developer's `.env` (copied from `.env.example`) is read if present; real env vars win.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core -------------------------------------------------------------------------------------

DEBUG = env.bool("DEBUG", default=False)
PRODUCTION = False

# Development only: production.py refuses to start without a real SECRET_KEY.
SECRET_KEY = env("SECRET_KEY", default="") or "django-insecure-warden-development-only-key"
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "allauth.mfa",
    "accounts",
    "api",
    "oidc",
]

MIDDLEWARE = [
    "api.middleware.MetricsMiddleware",  # first, so it times everything below
    "api.unavailable.BackendUnavailableMiddleware",  # DB/Redis away: 503 (+ handler500)
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "api.middleware.VerifyFastPathMiddleware",  # verify skips the layers below (see why there)
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.MfaPolicyMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database and cache -----------------------------------------------------------------------

# An empty value (as in a copied .env.example) means "use the default", like an unset one.
DATABASES = {
    "default": env.db_url_config(
        env("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    )
}
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    # Persistent connections: opening one per request costs ~10x in throughput.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=600)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "config.cache.WardenRedisCache",  # Django's, one client per pool
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="warden"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts and passwords -------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
# allauth's backend alone: it serves the admin too, and hashes for unknown emails (timing).
AUTHENTICATION_BACKENDS = ["allauth.account.auth_backends.AuthenticationBackend"]
# Argon2id at OWASP's minimum (19 MiB, t=2, p=1): see accounts/hashers.py for the trade-off.
PASSWORD_HASHERS = [
    "accounts.hashers.WardenArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.validators.EndSessionsOnPasswordChange"},
]
# Password hashes running at once per worker process (each holds 19 MiB): see accounts/hashers.
WARDEN_HASH_CONCURRENCY = env.int("PASSWORD_HASH_CONCURRENCY", default=1)
DEFAULT_ROLE = "user"
WARDEN_SIGNUP_OPEN = env.bool("SIGNUP_OPEN", default=True)

# --- allauth ----------------------------------------------------------------------------------

SITE_NAME = env("SITE_NAME", default="Warden")
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
WARDEN_LOGIN_ATTEMPTS_LIMIT = env.int("LOGIN_ATTEMPTS_LIMIT", default=5)
WARDEN_LOGIN_ATTEMPTS_TIMEOUT = env.int("LOGIN_ATTEMPTS_TIMEOUT", default=300)
WARDEN_LOGIN_IP_RATE = env("LOGIN_IP_RATE", default="30/m")
# Failed client authentications and failed token checks (guessing) per IP per minute; callers in
# RATE_LIMIT_EXEMPT_IPS (CIDRs: your gateways) are never throttled.
WARDEN_CLIENT_AUTH_FAILURES_PER_MINUTE = env.int("CLIENT_AUTH_FAILURES_PER_MINUTE", default=10)
WARDEN_TOKEN_FAILURES_PER_MINUTE = env.int("TOKEN_FAILURES_PER_MINUTE", default=60)
RATE_LIMIT_EXEMPT_IPS = env.list("RATE_LIMIT_EXEMPT_IPS", default=[])
# Behind N reverse proxies that append to X-Forwarded-For, the client is the Nth from the end.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# allauth's rates, spent by Warden's limiter (accounts/ratelimit.py) before the password check in
# one atomic Redis call, so parallel guesses cannot slip past the limit (across every instance).
ACCOUNT_RATE_LIMITS = {
    "login_failed": (
        f"{WARDEN_LOGIN_IP_RATE}/ip,"
        f"{WARDEN_LOGIN_ATTEMPTS_LIMIT}/{WARDEN_LOGIN_ATTEMPTS_TIMEOUT}s/key"
    ),
    # POST /api/auth/google: every attempt counts, per IP, at the failed-login IP rate.
    "google_login": f"{WARDEN_LOGIN_IP_RATE}/ip",
}
ACCOUNT_DEFAULT_HTTP_PROTOCOL = env("ACCOUNT_DEFAULT_HTTP_PROTOCOL", default="http")
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "account_overview"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"

SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_STORE_TOKENS = False

# --- Google sign-in ---------------------------------------------------------------------------

GOOGLE_CLIENT_ID = env("GOOGLE_CLIENT_ID", default="")
GOOGLE_CLIENT_SECRET = env("GOOGLE_CLIENT_SECRET", default="")
# ID tokens for these client ids (Warden's mobile apps and SPAs) are accepted by
# POST /api/auth/google, besides those minted for the web client.
GOOGLE_CLIENT_IDS = list(
    dict.fromkeys(filter(None, [GOOGLE_CLIENT_ID, *env.list("GOOGLE_CLIENT_IDS", default=[])]))
)
# Google's email_verified claim proves the person owns the address, so allauth may sign them in
# to (and connect Google to) the account with that email. allauth considers only addresses
# the provider marks verified, and wipes the password of a local account whose own address was
# never verified, locking out whoever may have registered it first. An unverified Google email
# never connects: accounts.flows.google.social_login_check refuses it.
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
# Development and tests point every Google endpoint at the local stand-in
# (tests/google_standin.py). allauth's Google provider reads these URLs once, when it is
# imported, so they are decided here from the environment; override_settings cannot move them.
GOOGLE_OAUTH_BASE_URL = env("GOOGLE_OAUTH_BASE_URL", default="").rstrip("/")
if GOOGLE_OAUTH_BASE_URL:
    GOOGLE_ENDPOINTS = {
        "AUTHORIZE_URL": f"{GOOGLE_OAUTH_BASE_URL}/o/oauth2/v2/auth",
        "ACCESS_TOKEN_URL": f"{GOOGLE_OAUTH_BASE_URL}/token",
        "IDENTITY_URL": f"{GOOGLE_OAUTH_BASE_URL}/oauth2/v2/userinfo",
        "CERTS_URL": f"{GOOGLE_OAUTH_BASE_URL}/oauth2/v1/certs",
        "ID_TOKEN_ISSUER": GOOGLE_OAUTH_BASE_URL,
    }
    GOOGLE_ID_TOKEN_ISSUERS = [GOOGLE_OAUTH_BASE_URL]
else:
    GOOGLE_ENDPOINTS = {
        "AUTHORIZE_URL": "https://accounts.google.com/o/oauth2/v2/auth",
        "ACCESS_TOKEN_URL": "https://oauth2.googleapis.com/token",
        "IDENTITY_URL": "https://www.googleapis.com/oauth2/v2/userinfo",
        "CERTS_URL": "https://www.googleapis.com/oauth2/v1/certs",
        "ID_TOKEN_ISSUER": "https://accounts.google.com",
    }
    # Google signs ID tokens with either form of its issuer (OpenID Connect Core §3.1.3.7).
    GOOGLE_ID_TOKEN_ISSUERS = ["https://accounts.google.com", "accounts.google.com"]
SOCIALACCOUNT_PROVIDERS = {
    "google": {
        **GOOGLE_ENDPOINTS,
        "SCOPE": ["openid", "profile", "email"],
        "AUTH_PARAMS": {"access_type": "online"},
        "OAUTH_PKCE_ENABLED": True,
        "APPS": (
            [{"client_id": GOOGLE_CLIENT_ID, "secret": GOOGLE_CLIENT_SECRET, "key": ""}]
            if GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET
            else []
        ),
    }
}
# How long Google's published keys are kept when its answer names no max-age.
GOOGLE_CERTS_CACHE_SECONDS = env.int("GOOGLE_CERTS_CACHE_SECONDS", default=3600)

MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = False
MFA_TOTP_ISSUER = SITE_NAME

# --- Second factors (accounts/flows/mfa.py) ----------------------------------------------
# TOTP secrets and recovery seeds are sealed at rest by this adapter; codes are shown once.
# WebAuthn in development: open http://localhost:8000 (an IP address cannot be a WebAuthn RP id).
MFA_ADAPTER = "accounts.adapters.MFAAdapter"
MFA_RECOVERY_CODES_SHOW_ONCE = True
# Wrong codes one API sign-in (one mfa_token) may try before the token is spent; allauth's
# login_failed limits above also apply to second-factor codes, per user and per IP, web and API.
WARDEN_MFA_TOKEN_ATTEMPTS = env.int("MFA_TOKEN_ATTEMPTS", default=3)

# --- Mail -------------------------------------------------------------------------------------

EMAIL_BACKEND = env("EMAIL_BACKEND", default="") or "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Warden <no-reply@localhost>")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)

# --- Tokens: lifetimes, keys, revocation (config/settings/tokens.py) ------------------------

from .tokens import *  # noqa: E402, F403

# --- API --------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.WardenTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.SafeJSONParser",
        "api.parsers.SafeFormParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "api.schema.WardenAutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
}
SPECTACULAR_SETTINGS = {
    # Lists the plain verify view too (api/verify.py says why it is not a DRF view).
    "DEFAULT_GENERATOR_CLASS": "api.schema_generator.WardenSchemaGenerator",
    "TITLE": "Warden API",
    "DESCRIPTION": "Authentication service: tokens, sessions, verification and introspection.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from the installed sidecar package: the docs page loads nothing from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/(api|auth|\.well-known)/.*$"  # auth/: seed 003 (api/dialects.py)

# --- Static files and security ----------------------------------------------------------------

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

X_FRAME_OPTIONS = "DENY"
# Pages load scripts, styles and images only from Warden itself; nothing may frame them. Forms
# may post to Warden, and (for "Sign in with Google") redirect to Google's authorize endpoint,
# which is the local stand-in's when GOOGLE_OAUTH_BASE_URL is set.
_GOOGLE_AUTHORIZE = urlsplit(GOOGLE_ENDPOINTS["AUTHORIZE_URL"])
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "font-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'", f"{_GOOGLE_AUTHORIZE.scheme}://{_GOOGLE_AUTHORIZE.netloc}"],
}
CONTENT_SECURITY_POLICY_RELAXED_STYLE_PATHS = ["/admin/", "/api/docs/"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # allauth's forms read nothing from JS; kept default for admin
if env("SECURE_PROXY_SSL_HEADER", default=""):
    SECURE_PROXY_SSL_HEADER = (env("SECURE_PROXY_SSL_HEADER"), "https")

# --- Metrics (GET /metrics, Prometheus) ---------------------------------------------------------
# Reachable from these addresses (CIDRs; REMOTE_ADDR only) or with `Authorization: Bearer
# <METRICS_TOKEN>`. Multi-process servers: set PROMETHEUS_MULTIPROC_DIR (see accounts/metrics.py).
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1/32", "::1/128"])
METRICS_TOKEN = env("METRICS_TOKEN", default="")

# --- Logging ----------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(levelname)s %(name)s %(message)s"},
        "json_line": {"format": "%(message)s"},  # audit records are already one JSON object
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "audit": {
            "class": "logging.StreamHandler",
            "formatter": "json_line",
            "stream": "ext://sys.stdout",
        },
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "warden.audit": {"handlers": ["audit"], "level": "INFO", "propagate": False},
    },
}


def require(name: str, value: object) -> None:
    """Refuse to start when a production setting is missing."""
    if not value:
        raise ImproperlyConfigured(f"{name} must be set in production (see README).")
