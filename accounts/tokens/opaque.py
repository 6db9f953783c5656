"""Refresh tokens: opaque random strings, stored only as digests, that no JWKS can verify.

A refresh token is `wrt_<session id>.<secret>`. Its successor is derived, not drawn: HMAC of the
presented token under a key only Warden holds. So a client that repeats an exchange whose
answer it lost (inside the grace window) can be handed the very successor the first exchange
minted, though Warden keeps no token, only digests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as random
import uuid

from accounts.tokens import secrets
from accounts.tokens.jwt import TokenInvalid

PREFIX = "wrt_"
_SECRET_CHARS = 43  # 32 bytes, base64url without padding
_MAX_LENGTH = len(PREFIX) + 32 + 1 + _SECRET_CHARS


def digest(token: str) -> str:
    """What the database keeps of a refresh token: a 256-bit random secret needs no slow hash."""
    return hashlib.sha256(token.encode()).hexdigest()


def refresh_token_new(sid: uuid.UUID) -> str:
    return f"{PREFIX}{sid.hex}.{random.token_urlsafe(32)}"


def refresh_token_successor(token: str) -> str:
    """The token an exchange of `token` hands out: the same for every exchange of `token`."""
    sid, _ = token[len(PREFIX) :].split(".", 1)
    mac = hmac.new(secrets.derived_key("refresh-chain"), token.encode(), hashlib.sha256).digest()
    return f"{PREFIX}{sid}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def refresh_token_session(token: str) -> uuid.UUID:
    """The session a well-formed refresh token names; TokenInvalid for anything else."""
    if not isinstance(token, str) or len(token) > _MAX_LENGTH or not token.startswith(PREFIX):
        raise TokenInvalid("not a refresh token")
    sid, _, secret = token[len(PREFIX) :].partition(".")
    if len(secret) != _SECRET_CHARS:
        raise TokenInvalid("not a refresh token")
    try:
        return uuid.UUID(hex=sid)
    except ValueError as exc:
        raise TokenInvalid("not a refresh token") from exc
