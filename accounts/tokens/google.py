"""Google ID tokens from apps and SPAs: Google's published keys (cached) and the checks they pass.

Warden's own tokens are built and checked in the rest of this package; this module only reads
tokens Google signed. The keys come from the same CERTS_URL allauth's Google provider uses,
parsed by allauth's own helpers, so the web flow and the API trust exactly the same keys.
"""

from __future__ import annotations

import re

import jwt
import requests
from allauth.socialaccount.adapter import get_adapter as get_social_adapter
from django.conf import settings
from django.core.cache import cache

from accounts.allauth_compat import google_key

ALGORITHM = "RS256"  # the only algorithm Google signs ID tokens with
_CERTS_CACHE_KEY = "warden:google:certs"
_REFETCH_GUARD_KEY = "warden:google:certs:refetched"
_REFETCH_GUARD_SECONDS = 60
_MAX_AGE = re.compile(r"max-age=(\d+)")


class IdTokenInvalid(Exception):
    """The ID token was refused; `reason` says why in words a client developer can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class KeysUnavailable(Exception):
    """Google's keys could not be fetched: nobody can be verified until they can."""


def certs_url() -> str:
    return settings.SOCIALACCOUNT_PROVIDERS["google"]["CERTS_URL"]


def _fetch_keys() -> dict:
    try:
        with get_social_adapter().get_requests_session() as session:
            response = session.get(certs_url())
            response.raise_for_status()
            keys = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise KeysUnavailable(str(exc)) from exc
    if not isinstance(keys, dict):
        raise KeysUnavailable("Google's keys are not a JSON object")
    found = _MAX_AGE.search(response.headers.get("Cache-Control", ""))
    lifetime = int(found.group(1)) if found else settings.GOOGLE_CERTS_CACHE_SECONDS
    cache.set(_CERTS_CACHE_KEY, keys, max(60, min(lifetime, 86400)))
    return keys


def _public_key(kid: str):
    keys = cache.get(_CERTS_CACHE_KEY) or _fetch_keys()
    key = google_key(keys, kid)
    # Google rotates keys: an unknown kid may be a new key, so fetch again, but at most once a
    # minute, or tokens with made-up kids would make Warden hammer Google.
    if key is None and cache.add(_REFETCH_GUARD_KEY, True, _REFETCH_GUARD_SECONDS):
        key = google_key(_fetch_keys(), kid)
    if key is None:
        raise IdTokenInvalid("signed with an unknown key")
    return key


def id_token_claims(*, raw: str) -> dict:
    """The verified claims of a Google ID token; pins alg, issuer, audience and lifetime."""
    try:
        header = jwt.get_unverified_header(raw)
    except jwt.PyJWTError as exc:
        raise IdTokenInvalid("malformed") from exc
    if header.get("alg") != ALGORITHM or not isinstance(header.get("kid"), str):
        raise IdTokenInvalid("not signed the way Google signs ID tokens")
    if not settings.GOOGLE_CLIENT_IDS:
        raise IdTokenInvalid("not for this service: no Google client id is configured")
    key = _public_key(header["kid"])
    try:
        claims = jwt.decode(
            raw,
            key=key,
            algorithms=[ALGORITHM],
            audience=settings.GOOGLE_CLIENT_IDS,
            issuer=settings.GOOGLE_ID_TOKEN_ISSUERS,
            leeway=settings.WARDEN_CLOCK_LEEWAY,
            options={"require": ["iss", "aud", "sub", "exp", "iat"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise IdTokenInvalid("expired") from exc
    except jwt.InvalidAudienceError as exc:
        raise IdTokenInvalid("for another client (aud is not one of Warden's client ids)") from exc
    except jwt.InvalidIssuerError as exc:
        raise IdTokenInvalid("not issued by Google (wrong iss)") from exc
    except jwt.InvalidSignatureError as exc:
        raise IdTokenInvalid("not validly signed by Google") from exc
    except jwt.PyJWTError as exc:
        raise IdTokenInvalid(f"invalid ({exc})") from exc
    # Old Google tokens carry the flag as the string "true"; anything else is not verified.
    claims["email_verified"] = claims.get("email_verified") in (True, "true")
    return claims


def id_token_identity(*, claims: dict, raw: str) -> str:
    """What makes one ID token one token, for replay detection: its `jti`, else its signature.

    Not the raw string: base64url padding can be appended without changing what verifies.
    """
    jti = claims.get("jti")
    if isinstance(jti, str) and jti:
        return jti
    return jwt.utils.base64url_decode(raw.rsplit(".", 1)[-1].rstrip("=")).hex()
