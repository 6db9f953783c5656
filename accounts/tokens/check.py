"""Checking a presented access token: the one function verify, introspection and DRF call."""

from __future__ import annotations

from typing import Any

from accounts.tokens import revocation
from accounts.tokens.jwt import AccessToken, TokenInvalid


def access_token_check(*, raw: str | bytes, audience: Any = None) -> dict[str, Any]:
    """The verify hot path: signature, pinned algorithm, iss, aud, exp, type, then revocation.

    `audience` is the `aud` the token must carry: the resource server it is presented to (a
    token minted for another service is refused), or ANY_AUDIENCE; None is the default audience
    (settings.WARDEN_AUDIENCE: Warden's own API, and every client that names none).
    """
    if not raw:
        raise TokenInvalid("no token")
    claims = AccessToken.parse(raw, audience=audience or None).payload
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
