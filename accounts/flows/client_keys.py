"""Service clients that sign in with keys instead of secrets (RFC 7523 private_key_jwt)."""

from __future__ import annotations

import ipaddress
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.conf import settings

from accounts import errors, ratelimit
from accounts.audit import Caller, audit_failure
from accounts.models import ConsumedToken, ServiceClient
from accounts.tokens.jwt import FORBIDDEN_HEADERS

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


ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGORITHMS = ("RS256", "ES256")
MAX_ASSERTION_LIFETIME = 300  # seconds: RFC 7523 §3 asks for a short exp
_jwks_clients: dict[str, jwt.PyJWKClient] = {}


def _verification_key(client: ServiceClient, header: dict):
    if client.public_key_pem:
        return public_key_load(client.public_key_pem)
    if client.jwks_url and jwks_url_allowed(client.jwks_url):
        fetcher = _jwks_clients.get(client.jwks_url)
        if fetcher is None:
            fetcher = _jwks_clients[client.jwks_url] = jwt.PyJWKClient(
                client.jwks_url, cache_keys=True, lifespan=300, timeout=5
            )
        try:
            return fetcher.get_signing_key(header.get("kid")).key
        except jwt.PyJWKClientError as exc:
            raise errors.invalid_client("The client's signing key cannot be found.") from exc
    raise errors.invalid_client("The client has no key registered for assertions.")


def client_assertion_authenticate(
    *, assertion: str, client_id: str | None, audiences: list[str], caller: Caller
) -> ServiceClient:
    """RFC 7523 §3: `iss` = `sub` = client_id, `aud` = the token endpoint (or the issuer),
    `exp` at most five minutes ahead, `jti` spent on first use. Failures are limited per IP,
    as secrets are."""
    limit, ip = ratelimit.client_auth_limit(), caller.ip or "unknown"
    exempt = ratelimit.exempt(caller.ip)
    if not exempt and (retry := ratelimit.blocked(limit, ip)):
        raise errors.rate_limited(retry)
    client = None
    try:
        header = jwt.get_unverified_header(assertion)
        unverified = jwt.decode(assertion, options={"verify_signature": False})
        issuer = unverified.get("iss")
        if not isinstance(issuer, str) or (client_id and client_id != issuer):
            raise errors.invalid_client("The assertion's iss must be the client_id.")
        client = ServiceClient.objects.filter(client_id=issuer, is_active=True).first()
        if client is None or header.get("alg") not in ASSERTION_ALGORITHMS:
            raise errors.invalid_client()
        if FORBIDDEN_HEADERS.intersection(header):
            raise errors.invalid_client("The assertion may not name its own key.")
        claims = jwt.decode(
            assertion,
            _verification_key(client, header),
            algorithms=[header["alg"]],
            audience=audiences,
            issuer=client.client_id,
            leeway=settings.WARDEN_CLOCK_LEEWAY,
            options={"require": ["iss", "sub", "aud", "exp", "jti"]},
        )
        if claims["sub"] != client.client_id or not isinstance(claims["jti"], str):
            raise errors.invalid_client("The assertion's sub must be the client_id.")
        if claims["exp"] - time.time() > MAX_ASSERTION_LIFETIME + settings.WARDEN_CLOCK_LEEWAY:
            raise errors.invalid_client("The assertion lives too long (at most five minutes).")
        expires_at = datetime.fromtimestamp(claims["exp"], tz=UTC) + timedelta(
            seconds=settings.WARDEN_CLOCK_LEEWAY
        )
        _, fresh = ConsumedToken.objects.get_or_create(
            jti=f"assertion:{client.client_id}:{claims['jti']}"[:255],
            defaults={"kind": "client_assertion", "expires_at": expires_at},
        )
        if not fresh:
            raise errors.invalid_client("The assertion was already used.")
    except (errors.AuthError, jwt.PyJWTError, ValueError, TypeError) as exc:
        if not exempt:
            ratelimit.record_failure(limit, ip)
        audit_failure(
            type="client_auth", caller=caller, client=client, target=(client_id or "")[:64]
        )
        if isinstance(exc, errors.AuthError):
            raise
        raise errors.invalid_client("The client assertion is invalid.") from exc
    return client
