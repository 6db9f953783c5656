"""Secrets at rest: keys derived from the key-encryption key, sealing, and client-secret digests.

The key-encryption key (KEK) never encrypts anything itself: HKDF-SHA256 derives one key per
purpose from it (signing keys, MFA secrets, the refresh-token chain, MFA tokens), so no two
uses share key material. `WARDEN_KEY_ENCRYPTION_KEYS` may list several KEKs, newest first:
new seals use the first, and every listed one still opens what it sealed, which is how a KEK
is rotated without downtime (`manage.py rotate_key_encryption_key` then re-seals everything).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_SALT = b"warden-kek-v1"
_DIGEST_PREFIX = "sha256$"


def key_encryption_keys() -> tuple[str, ...]:
    """The configured KEKs, newest first (SECRET_KEY stands in during development)."""
    keys = tuple(k for k in settings.WARDEN_KEY_ENCRYPTION_KEYS if k)
    return keys or (settings.WARDEN_KEY_ENCRYPTION_KEY or settings.SECRET_KEY,)


@functools.lru_cache(maxsize=64)
def _hkdf(kek: str, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=purpose.encode()).derive(
        kek.encode()
    )


def _legacy(kek: str, purpose: str) -> bytes:
    """The derivation before HKDF (bare SHA-256), kept only to open what it sealed."""
    return hashlib.sha256(f"warden:{purpose}:{kek}".encode()).digest()


def derived_key(purpose: str) -> bytes:
    """32 bytes for one purpose, from the newest KEK."""
    return _hkdf(key_encryption_keys()[0], purpose)


def _fernet(purpose: str) -> MultiFernet:
    keks = key_encryption_keys()
    raw = [_hkdf(k, purpose) for k in keks] + [_legacy(k, purpose) for k in keks]
    return MultiFernet([Fernet(base64.urlsafe_b64encode(key)) for key in raw])


class SealBroken(Exception):
    """A sealed value does not open under any configured key-encryption key."""


def seal(text: str | bytes, *, purpose: str) -> str:
    data = text.encode() if isinstance(text, str) else text
    return _fernet(purpose).encrypt(data).decode()


def unseal(sealed: str, *, purpose: str) -> bytes:
    try:
        return _fernet(purpose).decrypt(sealed.encode())
    except InvalidToken as exc:
        raise SealBroken(purpose) from exc


def reseal(sealed: str, *, purpose: str) -> str:
    """The same value sealed under the newest KEK (raises SealBroken if none opens it)."""
    try:
        return _fernet(purpose).rotate(sealed.encode()).decode()
    except InvalidToken as exc:
        raise SealBroken(purpose) from exc


def secret_digest(secret: str) -> str:
    """What is stored of a generated 256-bit client secret: a plain SHA-256 is enough (nothing
    to guess offline), and it does not depend on the KEK, so rotating the KEK voids nothing."""
    return _DIGEST_PREFIX + hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, digest: str) -> bool:
    """Constant-time check; also accepts the older KEK-keyed HMAC digests (see is_legacy)."""
    if digest.startswith(_DIGEST_PREFIX):
        return hmac.compare_digest(secret_digest(secret), digest)
    return any(
        hmac.compare_digest(
            hmac.new(_legacy(kek, "client-secrets"), secret.encode(), hashlib.sha256).hexdigest(),
            digest,
        )
        for kek in key_encryption_keys()
    )


def digest_is_legacy(digest: str) -> bool:
    return not digest.startswith(_DIGEST_PREFIX)


def new_secret() -> str:
    return secrets.token_urlsafe(32)
