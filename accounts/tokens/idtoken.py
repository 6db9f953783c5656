"""OpenID Connect ID tokens and back-channel logout tokens, signed by the same key ring.

Same keys, same JWKS and same `iss` as the access tokens; what differs is the audience (the
app's client_id) and the header `typ`: `JWT` for ID tokens (what OpenID Connect relying
parties expect), `logout+jwt` for logout tokens (OpenID Back-Channel Logout §2.4). Neither can
pass for an access token, which must be `at+jwt` with `aud` = WARDEN_AUDIENCE.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from typing import Any

import jwt
from django.conf import settings
from rest_framework_simplejwt.exceptions import TokenBackendError

from accounts.tokens.jwt import TokenInvalid, backend

ID_TOKEN_TYP = "JWT"
LOGOUT_TYP = "logout+jwt"
ID_TOKEN_LIFETIME = 300
LOGOUT_TOKEN_LIFETIME = 120
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


def token_hash(value: str) -> str:
    """`at_hash` (OpenID Connect Core §3.1.3.6): the left half of SHA-256, base64url. Both of
    Warden's algorithms (RS256, ES256) hash with SHA-256."""
    half = hashlib.sha256(value.encode()).digest()[:16]
    return base64.urlsafe_b64encode(half).rstrip(b"=").decode()


def id_token_sign(
    *,
    client_id: str,
    sub: str,
    sid: str,
    auth_time: int,
    amr: list[str],
    nonce: str = "",
    access_token: str = "",
    claims: dict[str, Any] | None = None,
) -> str:
    now = int(time.time())
    payload: dict[str, Any] = {
        **(claims or {}),
        "sub": sub,
        "iat": now,
        "exp": now + ID_TOKEN_LIFETIME,
        "auth_time": auth_time,
        "amr": amr,
        "sid": sid,
        "azp": client_id,
        "jti": uuid.uuid4().hex,
    }
    if nonce:
        payload["nonce"] = nonce
    if access_token:
        payload["at_hash"] = token_hash(access_token)
    return backend.encode(payload, typ=ID_TOKEN_TYP, audience=client_id)


def logout_token_sign(*, client_id: str, sub: str, sid: str) -> str:
    now = int(time.time())
    payload = {
        "sub": sub,
        "sid": sid,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_LIFETIME,
        "jti": uuid.uuid4().hex,
        "events": {BACKCHANNEL_EVENT: {}},
    }
    return backend.encode(payload, typ=LOGOUT_TYP, audience=client_id)


def id_token_hint_claims(raw: str) -> dict[str, Any]:
    """An ID token Warden issued, checked as `id_token_hint` (RP-initiated logout §2): the
    signature, algorithm, `iss` and `typ` must hold; it may have expired (that is normal)."""
    try:
        algorithm, key = backend.key_for(raw, typ=ID_TOKEN_TYP)
    except TokenBackendError as exc:
        raise TokenInvalid(str(exc.args[0])) from exc
    try:
        claims = jwt.decode(
            raw,
            key,
            algorithms=[algorithm],
            issuer=settings.WARDEN_ISSUER,
            options={"verify_exp": False, "verify_aud": False, "require": ["sub", "aud", "sid"]},
        )
    except jwt.InvalidTokenError as exc:
        raise TokenInvalid("invalid ID token") from exc
    if not isinstance(claims["aud"], str):
        raise TokenInvalid("invalid ID token")
    return claims
