"""Service clients that sign in with keys instead of secrets (RFC 7523 private_key_jwt)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlparse

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

LOOPBACK_NAMES = ("localhost",)


def jwks_url_allowed(url: str) -> bool:
    """https anywhere; plain http only on loopback (a sidecar or a test)."""
    parsed = urlparse(url)
    if parsed.scheme == "https" and parsed.hostname:
        return True
    if parsed.scheme != "http" or not parsed.hostname:
        return False
    if parsed.hostname in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(parsed.hostname).is_loopback
    except ValueError:
        return False


def public_key_load(pem: str):
    """An RSA or EC public key from PEM, or ValueError."""
    try:
        key = load_pem_public_key(pem.encode())
    except (ValueError, TypeError) as exc:
        raise ValueError("Not a PEM public key.") from exc
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise ValueError("Only RSA and EC public keys sign assertions.")
    return key


def client_keys_check(*, public_key_pem: str = "", jwks_url: str = "") -> None:
    """Refuse (ValueError) a key registration that could not work or would not be safe."""
    if public_key_pem and jwks_url:
        raise ValueError("Register a public key or a JWKS URL, not both.")
    if public_key_pem:
        public_key_load(public_key_pem)
    if jwks_url and not jwks_url_allowed(jwks_url):
        raise ValueError("A JWKS URL must be https (plain http only on loopback).")
