"""Checking a presented access token: the one function verify, introspection and DRF call."""

from __future__ import annotations

from typing import Any

from accounts.tokens import revocation
from accounts.tokens.jwt import AccessToken, TokenInvalid


def access_token_check(*, raw: str | bytes) -> dict[str, Any]:
    """The verify hot path: signature, pinned algorithm, iss, aud, exp, type, then revocation."""
    if not raw:
        raise TokenInvalid("no token")
    claims = AccessToken.parse(raw).payload
    sid, client_id, jti = claims.get("sid"), claims.get("client_id"), claims["jti"]
    if sid is not None:
        if not isinstance(sid, str):
            raise TokenInvalid("invalid token")
        client_id = None
    elif not isinstance(client_id, str) or client_id != claims.get("sub"):
        raise TokenInvalid("invalid token")
    if not isinstance(jti, str):
        raise TokenInvalid("invalid token")
    reason = revocation.access_token_state(sid=sid, client_id=client_id, jti=jti, exp=claims["exp"])
    if reason is not None:
        raise TokenInvalid(reason)
    return claims


def subject_type(claims: dict[str, Any]) -> str:
    return "user" if "sid" in claims else "service"
