"""Every token rule in one place: signing keys, token classes, and checking a presented token.

simplejwt supplies the token classes and claim handling. What it lacks is written here by hand:
several live signing keys chosen by `kid` (its TokenBackend holds one key), and a verify path
that checks revocation without touching the database in the steady state.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenBackendExpiredToken
from rest_framework_simplejwt.tokens import Token

from accounts.models import AuthSession, ServiceClient, SigningKey

ALGORITHMS = ("RS256", "ES256")
ACCESS_TYP = "at+jwt"
REFRESH_TYP = "rt+jwt"
MFA_TYP = "mfa+jwt"
# Headers that would let a token name its own verification key: never honoured, always refused.
FORBIDDEN_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c"})
KEYRING_TTL = 60.0
KEYRING_MISS_INTERVAL = 1.0
# The JWKS endpoint is read rarely (verifiers fetch it once, then on an unknown kid) but must
# list a key from the moment any instance may sign with it: it reads the database every time.
JWKS_MAX_AGE = 0.0


class TokenInvalid(Exception):
    """A presented token is not acceptable; `reason` is safe to show the caller."""

    def __init__(self, reason: str = "invalid token") -> None:
        super().__init__(reason)
        self.reason = reason


# --- Secrets at rest ----------------------------------------------------------------------------


def _derived_key(purpose: str) -> bytes:
    secret = settings.WARDEN_KEY_ENCRYPTION_KEY or settings.SECRET_KEY
    return hashlib.sha256(f"warden:{purpose}:{secret}".encode()).digest()


def _fernet() -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_derived_key("signing-keys")))


def secret_digest(secret: str) -> str:
    """Keyed hash for high-entropy generated secrets (service client secrets)."""
    return hmac.new(_derived_key("client-secrets"), secret.encode(), hashlib.sha256).hexdigest()


def secret_matches(secret: str, digest: str) -> bool:
    return hmac.compare_digest(secret_digest(secret), digest)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


# --- Signing keys -------------------------------------------------------------------------------


def _public_jwk(public_key: Any, algorithm: str) -> dict[str, str]:
    if algorithm == "RS256":
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(public_key, as_dict=True)
        required = ("e", "kty", "n")
    else:
        jwk = jwt.algorithms.ECAlgorithm.to_jwk(public_key, as_dict=True)
        required = ("crv", "kty", "x", "y")
    # RFC 7638: SHA-256 over the required members, sorted, without whitespace.
    canonical = json.dumps({k: jwk[k] for k in required}, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    kid = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return {**{k: jwk[k] for k in required}, "kid": kid, "alg": algorithm, "use": "sig"}


def signing_key_generate(*, algorithm: str) -> SigningKey:
    """Make a key pair; the caller decides its state and saves it."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"Unsupported signing algorithm {algorithm!r}; use one of {ALGORITHMS}.")
    if algorithm == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    jwk = _public_jwk(private.public_key(), algorithm)
    return SigningKey(
        kid=jwk["kid"],
        algorithm=algorithm,
        public_jwk=jwk,
        private_key_encrypted=_fernet().encrypt(pem).decode(),
    )


def _load_private(key: SigningKey) -> Any:
    try:
        pem = _fernet().decrypt(key.private_key_encrypted.encode())
    except InvalidToken as exc:
        raise RuntimeError(
            f"Signing key {key.kid} cannot be decrypted: WARDEN_KEY_ENCRYPTION_KEY changed?"
        ) from exc
    return serialization.load_pem_private_key(pem, password=None)


def longest_token_lifetime():
    return max(
        settings.WARDEN_ACCESS_TOKEN_LIFETIME,
        settings.WARDEN_REFRESH_TOKEN_LIFETIME,
        settings.WARDEN_SERVICE_TOKEN_LIFETIME,
    ) + timedelta(seconds=settings.WARDEN_CLOCK_LEEWAY)


@dataclass(frozen=True)
class _Signer:
    kid: str
    algorithm: str
    private_key: Any


class KeyRing:
    """Process-local view of the signing keys: verification must not query the database.

    Reloaded every KEYRING_TTL seconds, and at once (at most every KEYRING_MISS_INTERVAL) when
    a token names a kid this process has not seen, so a key rotated on another instance is
    trusted here immediately.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._public: dict[str, tuple[str, Any]] = {}
        self._jwks: list[dict] = []
        self._signer: _Signer | None = None
        self._loaded_at = 0.0
        self._last_miss_reload = 0.0

    def invalidate(self) -> None:
        with self._lock:
            self._loaded_at = 0.0
            self._last_miss_reload = 0.0

    def _load(self) -> None:
        now = timezone.now()
        keys = list(
            SigningKey.objects.filter(
                state__in=(SigningKey.State.CURRENT, SigningKey.State.VERIFYING)
            ).exclude(retire_at__lte=now)
        )
        current = next((k for k in keys if k.state == SigningKey.State.CURRENT), None)
        if current is None:
            current = signing_key_ensure()
            keys.append(current)
        public = {}
        for key in keys:
            public[key.kid] = (key.algorithm, jwt.PyJWK(key.public_jwk, key.algorithm).key)
        signer = self._signer
        if signer is None or signer.kid != current.kid:
            signer = _Signer(current.kid, current.algorithm, _load_private(current))
        self._public, self._signer = public, signer
        self._jwks = [k.public_jwk for k in sorted(keys, key=lambda k: k.created_at, reverse=True)]
        self._loaded_at = time.monotonic()

    def _fresh(self) -> None:
        if time.monotonic() - self._loaded_at > KEYRING_TTL:
            with self._lock:
                if time.monotonic() - self._loaded_at > KEYRING_TTL:
                    self._load()

    def signer(self) -> _Signer:
        self._fresh()
        return self._signer

    def jwks(self, *, max_age: float = KEYRING_TTL) -> list[dict]:
        if time.monotonic() - self._loaded_at > max_age:
            with self._lock:
                if time.monotonic() - self._loaded_at > max_age:
                    self._load()
        return self._jwks

    def public_key(self, kid: str) -> tuple[str, Any] | None:
        self._fresh()
        found = self._public.get(kid)
        if found is None and time.monotonic() - self._last_miss_reload > KEYRING_MISS_INTERVAL:
            with self._lock:
                self._last_miss_reload = time.monotonic()
                self._load()
            found = self._public.get(kid)
        return found


keyring = KeyRing()


def signing_key_ensure() -> SigningKey:
    """The current signing key, created on first use so a fresh install needs no setup."""
    with transaction.atomic():
        current = (
            SigningKey.objects.select_for_update().filter(state=SigningKey.State.CURRENT).first()
        )
        if current is None:
            current = signing_key_generate(algorithm=settings.WARDEN_SIGNING_ALGORITHM)
            current.state = SigningKey.State.CURRENT
            current.save()
    return current


# --- Token classes ------------------------------------------------------------------------------


# Parsed headers by their encoded segment. Every token one key signs has the same header, and
# PyJWT's strict base64 check walks each character in Python: parsing it once per token, not
# twice, is ~90 us of the verify path. Only parsing is skipped: jwt.decode below re-reads the
# whole token and verifies the signature, which covers the header. Cleared when full, so
# junk headers can only cost cache misses.
_HEADERS: dict[str | bytes, dict[str, Any]] = {}
_HEADERS_MAX = 256


def _unverified_header(token: str | bytes) -> dict[str, Any]:
    """The token's header (read-only), parsed strictly by PyJWT the first time it is seen."""
    if not isinstance(token, str | bytes):
        raise jwt.DecodeError("Invalid token type")
    segment = token.partition("." if isinstance(token, str) else b".")[0]
    header = _HEADERS.get(segment)
    if header is None:
        header = jwt.get_unverified_header(token)
        if len(_HEADERS) >= _HEADERS_MAX:
            _HEADERS.clear()
        _HEADERS[segment] = header
    return header


class KeyRingBackend(TokenBackend):
    """simplejwt backend that signs with the current key and verifies by `kid`."""

    def __init__(self) -> None:
        super().__init__(algorithm="RS256")

    def encode(self, payload: dict[str, Any], typ: str = "JWT", audience: str = "") -> str:
        signer = keyring.signer()
        claims = {
            **payload,
            "iss": settings.WARDEN_ISSUER,
            "aud": audience or settings.WARDEN_AUDIENCE,
        }
        return jwt.encode(
            claims,
            signer.private_key,
            algorithm=signer.algorithm,
            headers={"kid": signer.kid, "typ": typ},
        )

    def decode(
        self, token: str | bytes, verify: bool = True, typ: str = "JWT", audience: str = ""
    ) -> dict[str, Any]:
        try:
            header = _unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise TokenBackendError("malformed token") from exc
        kid = header.get("kid")
        if header.get("typ") != typ or FORBIDDEN_HEADERS.intersection(header):
            raise TokenBackendError("wrong token type")
        found = keyring.public_key(kid) if isinstance(kid, str) else None
        if found is None:
            raise TokenBackendError("unknown signing key")
        algorithm, public_key = found
        try:
            return jwt.decode(
                token,
                public_key,
                algorithms=[algorithm],
                audience=audience or settings.WARDEN_AUDIENCE,
                issuer=settings.WARDEN_ISSUER,
                leeway=settings.WARDEN_CLOCK_LEEWAY,
                options={"require": ["exp", "iat", "jti", "sub", "iss", "aud", "token_type"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenBackendExpiredToken("token expired") from exc
        except jwt.InvalidTokenError as exc:
            raise TokenBackendError("invalid token") from exc


backend = KeyRingBackend()


class WardenToken(Token):
    typ = "JWT"
    lifetime_setting = ""
    # Tokens only Warden itself consumes (refresh, MFA) are addressed to Warden (aud = its
    # issuer URL), so a service that checks just signature, iss, aud and exp still refuses them.
    for_warden_only = False
    token_backend = backend

    @property
    def lifetime(self):
        return getattr(settings, self.lifetime_setting)

    @classmethod
    def audience(cls) -> str:
        return settings.WARDEN_ISSUER if cls.for_warden_only else settings.WARDEN_AUDIENCE

    def __str__(self) -> str:
        return backend.encode(self.payload, typ=self.typ, audience=self.audience())

    @classmethod
    def parse(cls, raw: str | bytes) -> WardenToken:
        """Decode and check a presented token, or raise TokenInvalid with a safe reason."""
        token = cls.__new__(cls)
        token.token = raw
        token.current_time = timezone.now()
        try:
            token.payload = backend.decode(raw, typ=cls.typ, audience=cls.audience())
        except TokenBackendExpiredToken as exc:
            raise TokenInvalid("token expired") from exc
        except TokenBackendError as exc:
            raise TokenInvalid(str(exc.args[0])) from exc
        if token.payload.get("token_type") != cls.token_type:
            raise TokenInvalid("wrong token type")
        return token


class AccessToken(WardenToken):
    token_type = "access"
    typ = ACCESS_TYP
    lifetime_setting = "WARDEN_ACCESS_TOKEN_LIFETIME"


class ServiceAccessToken(AccessToken):
    lifetime_setting = "WARDEN_SERVICE_TOKEN_LIFETIME"


class RefreshToken(WardenToken):
    token_type = "refresh"
    typ = REFRESH_TYP
    for_warden_only = True
    lifetime_setting = "WARDEN_REFRESH_TOKEN_LIFETIME"


class MfaToken(WardenToken):
    """Proves the password step of a sign-in; worth nothing until a second factor is given."""

    token_type = "mfa"
    typ = MFA_TYP
    for_warden_only = True
    lifetime_setting = "WARDEN_MFA_TOKEN_LIFETIME"


def access_token_for_user(*, user, session: AuthSession, roles: list[str]) -> AccessToken:
    token = AccessToken()
    token["sub"] = str(user.public_id)
    token["email"] = user.email
    token["roles"] = roles
    token["sid"] = str(session.id)
    if session.client_id:
        token["client_id"] = session.client.client_id
    return token


def refresh_token_for_session(*, user, session: AuthSession) -> RefreshToken:
    token = RefreshToken()
    token["sub"] = str(user.public_id)
    token["sid"] = str(session.id)
    token["jti"] = session.refresh_jti
    return token


def access_token_for_client(*, client: ServiceClient, scopes: list[str]) -> ServiceAccessToken:
    token = ServiceAccessToken()
    token["sub"] = client.client_id
    token["client_id"] = client.client_id
    token["scope"] = " ".join(scopes)
    token["roles"] = []
    return token


def mfa_token_for_user(*, user, client: ServiceClient | None = None) -> MfaToken:
    """The half-way token of an API sign-in: names the user (and client) awaiting a code."""
    token = MfaToken()
    token["sub"] = str(user.public_id)
    if client is not None:
        token["client_id"] = client.client_id
    return token


def token_response(*, access: AccessToken, refresh: RefreshToken | None = None) -> dict:
    body = {
        "access_token": str(access),
        "token_type": "Bearer",
        "expires_in": int(access.lifetime.total_seconds()),
    }
    if refresh is not None:
        body["refresh_token"] = str(refresh)
    if "scope" in access:
        body["scope"] = access["scope"]
    return body


# --- Revocation state ---------------------------------------------------------------------------
# Verify asks the cache whether a session (or service client) is still live. The database is the
# truth: a cache miss reads it and stores the answer with `add`, so a concurrent revocation's
# `set` is never overwritten by a stale read. A cache not shared by every worker (the
# local-memory one) could miss another process's revocation, so then verify always asks the DB.


SHARED_CACHE_BACKENDS = (
    "config.cache.WardenRedisCache",  # Django's Redis backend, one client per pool
    "django.core.cache.backends.redis.",
    "django.core.cache.backends.memcached.",
    "django_redis.",
)


def cache_is_shared() -> bool:
    value = settings.WARDEN_SHARED_CACHE
    if isinstance(value, str) and value.lower() == "auto":
        backend_path = settings.CACHES["default"]["BACKEND"]
        return backend_path.startswith(SHARED_CACHE_BACKENDS)
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes", "on")
    return bool(value)


def _state_ttl() -> int:
    lifetime = max(settings.WARDEN_ACCESS_TOKEN_LIFETIME, settings.WARDEN_SERVICE_TOKEN_LIFETIME)
    return int(lifetime.total_seconds()) + settings.WARDEN_CLOCK_LEEWAY


def _session_key(sid: str) -> str:
    return f"live:sid:{sid}"


def _client_key(client_id: str) -> str:
    return f"live:client:{client_id}"


def _session_live_in_db(sid: str) -> bool:
    return AuthSession.objects.filter(
        pk=sid,
        state=AuthSession.State.ACTIVE,
        expires_at__gt=timezone.now(),
        user__is_active=True,
    ).exists()


def _client_live_in_db(client_id: str) -> bool:
    return ServiceClient.objects.filter(client_id=client_id, is_active=True).exists()


def _live(key: str, lookup, ident: str) -> bool:
    if not cache_is_shared():
        return lookup(ident)
    state = cache.get(key)
    if state is None:
        live = lookup(ident)
        cache.add(key, 1 if live else 0, _state_ttl())
        return live
    return state == 1


def mark_session_dead(sid: str) -> None:
    """Publish a revocation to every instance at once.

    Written before the revoking transaction commits: a reader that saw the still-active row
    can then only `add`, which loses to this `set`. A rollback leaves a spurious denial for
    one access-token lifetime at worst, failing closed.
    """
    cache.set(_session_key(sid), 0, _state_ttl())


def mark_client_state(client_id: str, *, live: bool) -> None:
    if live:
        # Re-activation must not be trusted before it commits: drop the entry, let DB answer.
        transaction.on_commit(lambda: cache.delete(_client_key(client_id)))
    else:
        cache.set(_client_key(client_id), 0, _state_ttl())


# --- Checking presented tokens ------------------------------------------------------------------


def access_token_check(*, raw: str | bytes) -> dict[str, Any]:
    """The verify hot path: signature, pinned algorithm, iss, aud, exp, type, then revocation."""
    if not raw:
        raise TokenInvalid("no token")
    claims = AccessToken.parse(raw).payload
    sid = claims.get("sid")
    if sid is not None:
        if not isinstance(sid, str) or not _live(_session_key(sid), _session_live_in_db, sid):
            raise TokenInvalid("session revoked")
    else:
        client_id = claims.get("client_id")
        if not isinstance(client_id, str) or client_id != claims.get("sub"):
            raise TokenInvalid("invalid token")
        if not _live(_client_key(client_id), _client_live_in_db, client_id):
            raise TokenInvalid("client revoked")
    return claims


def subject_type(claims: dict[str, Any]) -> str:
    return "user" if "sid" in claims else "service"
