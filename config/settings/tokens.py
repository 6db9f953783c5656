"""Token settings: issuer and audience, lifetimes, signing keys, revocation."""

from datetime import timedelta

import environ

env = environ.Env()  # base.py has read .env already

WARDEN_ISSUER = env("WARDEN_ISSUER", default="http://127.0.0.1:8000")
WARDEN_AUDIENCE = env("WARDEN_AUDIENCE", default="warden")
WARDEN_SIGNING_ALGORITHM = env("WARDEN_SIGNING_ALGORITHM", default="RS256")
# Private signing keys and MFA secrets are sealed at rest with keys derived (HKDF) from this;
# falls back to SECRET_KEY in development. To rotate it: WARDEN_KEY_ENCRYPTION_KEYS=new,old,
# then `manage.py rotate_key_encryption_key`, then drop the old one.
WARDEN_KEY_ENCRYPTION_KEY = env("WARDEN_KEY_ENCRYPTION_KEY", default="")
WARDEN_KEY_ENCRYPTION_KEYS = env.list("WARDEN_KEY_ENCRYPTION_KEYS", default=[])
WARDEN_ACCESS_TOKEN_LIFETIME = timedelta(seconds=env.int("ACCESS_TOKEN_LIFETIME", default=900))
WARDEN_REFRESH_TOKEN_LIFETIME = timedelta(
    seconds=env.int("REFRESH_TOKEN_LIFETIME", default=7 * 24 * 3600)
)
WARDEN_SESSION_LIFETIME = timedelta(seconds=env.int("SESSION_LIFETIME", default=30 * 24 * 3600))
WARDEN_SERVICE_TOKEN_LIFETIME = timedelta(seconds=env.int("SERVICE_TOKEN_LIFETIME", default=900))
WARDEN_MFA_TOKEN_LIFETIME = timedelta(seconds=env.int("MFA_TOKEN_LIFETIME", default=300))
# An admin acting as a user (token exchange) gets a token living at most this long.
WARDEN_IMPERSONATION_LIFETIME = timedelta(seconds=env.int("IMPERSONATION_LIFETIME", default=600))
# A refresh token presented again within this many seconds of its exchange (a retry after a lost
# answer, or a client racing itself) gets the same successor; later reuse revokes the session.
WARDEN_REFRESH_REUSE_GRACE = env.int("REFRESH_REUSE_GRACE_SECONDS", default=5)
WARDEN_CLOCK_LEEWAY = env.int("TOKEN_LEEWAY_SECONDS", default=30)
# Verified access tokens each process remembers until they expire (accounts/tokens/check.py);
# 0 turns it off. ~2 KB each.
WARDEN_VERIFY_CACHE_SIZE = env.int("VERIFY_CACHE_SIZE", default=10_000)
# Keys reload this often; a new key signs only once published longer (accounts/tokens/keyring).
WARDEN_KEYRING_REFRESH_SECONDS = env.int("KEYRING_REFRESH_SECONDS", default=60)
WARDEN_KEY_PUBLISH_SECONDS = env.int(
    "KEY_PUBLISH_SECONDS", default=WARDEN_KEYRING_REFRESH_SECONDS + 5
)
# Revocation state lives in the cache only when every instance shares it: "auto" trusts Redis
# and never the per-process local-memory cache; "true"/"false" override.
WARDEN_SHARED_CACHE = env("WARDEN_SHARED_CACHE", default="auto")
# With Redis, each process re-reads what was revoked this often (accounts/tokens/revocation.py).
WARDEN_REVOCATION_RESYNC_SECONDS = env.float("REVOCATION_RESYNC_SECONDS", default=5.0)

# Seed dialects (accounts/flows/dialects.py): the seed documents' paths and field names, each
# switchable; off answers 404. The dialects listed last also get their code's claim names in
# the access tokens they issue (seed003: userId, role).
WARDEN_DIALECT_SEED000 = env.bool("DIALECT_SEED000", default=True)  # POST /api/auth/token/refresh
WARDEN_DIALECT_SEED002 = env.bool("DIALECT_SEED002", default=True)  # GET /api/auth/validate
WARDEN_DIALECT_SEED003 = env.bool("DIALECT_SEED003", default=True)  # /auth/login, verify, ...
WARDEN_SEED_CLAIMS_DIALECTS = env.list("SEED_CLAIMS_DIALECTS", default=["seed003"])

# OpenID Connect (accounts/flows/oidc/): RFC 7591 dynamic registration lets anyone register an
# app (consent is still asked of every user), so it is off unless asked for.
WARDEN_OIDC_DYNAMIC_REGISTRATION = env.bool("OIDC_DYNAMIC_REGISTRATION", default=False)

# Revocation events (accounts/events): a held poll answers within the interval of an event
# and waits at most WARDEN_SSF_POLL_WAIT seconds (one server thread per waiting receiver);
# push retries back off up to WARDEN_SSF_PUSH_MAX_BACKOFF seconds.
WARDEN_SSF_POLL_WAIT = env.float("SSF_POLL_WAIT_SECONDS", default=10.0)
WARDEN_SSF_POLL_INTERVAL = env.float("SSF_POLL_INTERVAL_SECONDS", default=0.1)
WARDEN_SSF_PUSH_TIMEOUT = env.float("SSF_PUSH_TIMEOUT_SECONDS", default=5.0)
WARDEN_SSF_PUSH_MAX_BACKOFF = env.int("SSF_PUSH_MAX_BACKOFF_SECONDS", default=60)

# Only what simplejwt's classes that Warden uses read: the token classes (type and jti claim
# names) and JWTAuthentication (the header scheme). Keys, algorithm, iss, aud and lifetimes are
# Warden's own settings, read by accounts/tokens/jwt.py's backend (its docstring says why).
SIMPLE_JWT = {
    "TOKEN_TYPE_CLAIM": "token_type",
    "JTI_CLAIM": "jti",
    "AUTH_HEADER_TYPES": ("Bearer",),
}
