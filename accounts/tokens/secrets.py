"""Secrets at rest: keys derived from the key-encryption key, sealing, and client-secret digests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def derived_key(purpose: str) -> bytes:
    """32 bytes for one purpose (signing keys, MFA secrets, client secrets), never shared."""
    secret = settings.WARDEN_KEY_ENCRYPTION_KEY or settings.SECRET_KEY
    return hashlib.sha256(f"warden:{purpose}:{secret}".encode()).digest()


def _fernet(purpose: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(derived_key(purpose)))


class SealBroken(Exception):
    """A sealed value does not open under the configured key-encryption key."""


def seal(text: str | bytes, *, purpose: str) -> str:
    data = text.encode() if isinstance(text, str) else text
    return _fernet(purpose).encrypt(data).decode()


def unseal(sealed: str, *, purpose: str) -> bytes:
    try:
        return _fernet(purpose).decrypt(sealed.encode())
    except InvalidToken as exc:
        raise SealBroken(purpose) from exc


def secret_digest(secret: str) -> str:
    """Keyed hash for high-entropy generated secrets (service client secrets)."""
    return hmac.new(derived_key("client-secrets"), secret.encode(), hashlib.sha256).hexdigest()


def secret_matches(secret: str, digest: str) -> bool:
    return hmac.compare_digest(secret_digest(secret), digest)


def new_secret() -> str:
    return secrets.token_urlsafe(32)
