"""Signing keys: generation, the one current key, and the process-local key ring."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import SigningKey
from accounts.tokens import secrets

ALGORITHMS = ("RS256", "ES256")
KEYRING_MISS_INTERVAL = 1.0
SEAL_PURPOSE = "signing-keys"  # what private signing keys are sealed for (tokens.secrets)


def refresh_interval() -> float:
    """How stale a process's view of the keys may be: it reloads them this often."""
    return float(settings.WARDEN_KEYRING_REFRESH_SECONDS)


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
        private_key_encrypted=secrets.seal(pem, purpose=SEAL_PURPOSE),
    )


def _load_private(key: SigningKey) -> Any:
    try:
        pem = secrets.unseal(key.private_key_encrypted, purpose=SEAL_PURPOSE)
    except secrets.SealBroken as exc:
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


def signing_key_for_algorithm_ensure(algorithm: str) -> None:
    """A live key of `algorithm`, for audiences that pin one: published, and signing only their
    tokens (the current key of the other algorithm signs everything else)."""
    now = timezone.now()
    live = SigningKey.objects.filter(
        algorithm=algorithm, state__in=(SigningKey.State.CURRENT, SigningKey.State.VERIFYING)
    ).exclude(retire_at__lte=now)
    if not live.exists():
        key = signing_key_generate(algorithm=algorithm)
        key.state = SigningKey.State.VERIFYING
        key.save()
        keyring.invalidate()


def signing_key_ensure() -> SigningKey:
    """The current signing key, created on first use so a fresh install needs no setup.

    Instances starting together on an empty table each try to create one; the database's
    one-current-key constraint lets exactly one insert win, and the others read the winner's.
    """
    current = SigningKey.objects.filter(state=SigningKey.State.CURRENT).first()
    if current is not None:
        return current
    candidate = signing_key_generate(algorithm=settings.WARDEN_SIGNING_ALGORITHM)
    candidate.state = SigningKey.State.CURRENT
    try:
        with transaction.atomic():
            candidate.save()
    except IntegrityError:
        return SigningKey.objects.get(state=SigningKey.State.CURRENT)
    return candidate


@dataclass(frozen=True)
class Signer:
    kid: str
    algorithm: str
    private_key: Any


class KeyRing:
    """Process-local view of the signing keys: signing, verifying and the JWKS query nothing.

    Reloaded every WARDEN_KEYRING_REFRESH_SECONDS, and at once (at most every
    KEYRING_MISS_INTERVAL) when a token names a kid this process has not seen. A new key is
    published before it signs: the signer stays the previous key until the current one is
    WARDEN_KEY_PUBLISH_SECONDS old (longer than the reload interval), so by the time any
    instance signs with a key, every instance's JWKS lists it and no verifier that fetches the
    JWKS from any of them meets an unknown kid.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._public: dict[str, tuple[str, Any]] = {}
        self._jwks: list[dict] = []
        self._signer: Signer | None = None
        self._signers: dict[str, Signer] = {}  # by algorithm, for audiences that pin one
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
        signing = _signing_key(keys, current)
        signer = self._signer
        if signer is None or signer.kid != signing.kid:
            signer = Signer(signing.kid, signing.algorithm, _load_private(signing))
        # Per algorithm: the current key if it has it, else the newest live key of that one.
        signers = {signer.algorithm: signer}
        for key in sorted(keys, key=lambda k: k.created_at, reverse=True):
            if key.algorithm not in signers:
                known = self._signers.get(key.algorithm)
                reuse = known is not None and known.kid == key.kid
                signers[key.algorithm] = (
                    known if reuse else Signer(key.kid, key.algorithm, _load_private(key))
                )
        self._public, self._signer, self._signers = public, signer, signers
        self._jwks = [k.public_jwk for k in sorted(keys, key=lambda k: k.created_at, reverse=True)]
        self._loaded_at = time.monotonic()

    def _fresh(self) -> None:
        max_age = refresh_interval()
        if time.monotonic() - self._loaded_at > max_age:
            with self._lock:
                if time.monotonic() - self._loaded_at > max_age:
                    self._load()

    def signer(self, algorithm: str = "") -> Signer:
        """The current key, or for `algorithm` the newest live key that uses it."""
        self._fresh()
        if not algorithm or algorithm == self._signer.algorithm:
            return self._signer
        found = self._signers.get(algorithm)
        if found is None:
            raise LookupError(f"no live {algorithm} signing key: register the audience again")
        return found

    def jwks(self) -> list[dict]:
        self._fresh()
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


def _signing_key(keys: list[SigningKey], current: SigningKey) -> SigningKey:
    """The newest key that has been published long enough: the current key, or one it
    replaced. When none has (a rotation right after another, or just after a first start),
    the one published longest, so a new key never signs before it is published; a fresh
    install's only key signs at once (nobody can hold an older JWKS). Keys kept for audiences
    that pin another algorithm are never "a key it replaced": they have no retirement date."""
    published = timezone.now() - timedelta(seconds=settings.WARDEN_KEY_PUBLISH_SECONDS)
    candidates = [current] + [
        k for k in keys if k.state == SigningKey.State.VERIFYING and k.retire_at is not None
    ]
    ready = [k for k in candidates if k.created_at <= published]
    if ready:
        return max(ready, key=lambda k: k.created_at)
    return min(candidates, key=lambda k: k.created_at)


keyring = KeyRing()
