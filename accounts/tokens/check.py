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
    sid = claims.get("sid")
    if sid is not None:
        if not isinstance(sid, str) or not revocation.session_is_live(sid):
            raise TokenInvalid("session revoked")
    else:
        client_id = claims.get("client_id")
        if not isinstance(client_id, str) or client_id != claims.get("sub"):
            raise TokenInvalid("invalid token")
        if not revocation.client_is_live(client_id):
            raise TokenInvalid("client revoked")
    return claims


def subject_type(claims: dict[str, Any]) -> str:
    return "user" if "sid" in claims else "service"
