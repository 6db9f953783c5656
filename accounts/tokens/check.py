"""Checking a presented access token: the one function verify, introspection and DRF call."""

from __future__ import annotations

import copy
import threading
import time
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from accounts.tokens import revocation
from accounts.tokens.jwt import AccessToken, TokenInvalid, _unverified_header
from accounts.tokens.keyring import keyring

# Verified claims by (token, expected audience), as the SDK keeps them: a gateway presents the
# same token on every request of a session, and the signature, the JSON and the claim checks
# are most of a verify. What can change before `exp` is still checked on every hit: the
# revocation state (in process) and whether the signing key is still live. Entries end at
# exp + leeway, the deadline PyJWT applies, so a remembered answer never differs from a fresh
# one; the oldest is evicted past WARDEN_VERIFY_CACHE_SIZE, bounding memory (~2 KB an entry).
_VERIFIED: dict[tuple[Any, Any], tuple[dict[str, Any], float, str]] = {}
_VERIFIED_LOCK = threading.Lock()


@receiver(setting_changed)
def _forget_verified(*, setting: str, **kwargs) -> None:
    # A changed issuer, audience or leeway (tests) makes every remembered answer unsure.
    if setting.startswith("WARDEN_"):
        forget_verified()


def forget_verified() -> None:
    with _VERIFIED_LOCK:
        _VERIFIED.clear()


def access_token_check(*, raw: str | bytes, audience: Any = None) -> dict[str, Any]:
    """The verify hot path: signature, pinned algorithm, iss, aud, exp, type, then revocation.

    `audience` is the `aud` the token must carry: the resource server it is presented to (a
    token minted for another service is refused), or ANY_AUDIENCE; None is the default audience
    (settings.WARDEN_AUDIENCE: Warden's own API, and every client that names none).
    Returns a new dict each call: callers may change theirs.
    """
    if not raw:
        raise TokenInvalid("no token")
    key = (raw, tuple(audience) if isinstance(audience, list) else audience)
    claims = _remembered(key)
    if claims is not None:
        _check_revocation(claims)
        return _copy(claims)
    claims = _verified_claims(raw, audience)
    _check_revocation(claims)
    _remember(key, claims, _unverified_header(raw)["kid"])
    return _copy(claims)


def remembered_and_live(raw: str | bytes, audience: str | None) -> bool:
    """Whether access_token_check(raw=raw, audience=audience) would now answer exactly what
    it answered before, from what this process remembers: for the verify edge (api/edge.py)."""
    claims = _remembered((raw, audience))
    if claims is None:
        return False
    try:
        _check_revocation(claims)
    except TokenInvalid:
        return False
    return True


def _remembered(key: tuple[Any, Any]) -> dict[str, Any] | None:
    """The remembered claims of a verified token, while its key is live and it has not expired."""
    hit = _VERIFIED.get(key)
    if hit is None:
        return None
    claims, deadline, kid = hit
    if time.time() < deadline and keyring.public_key(kid) is not None:
        return claims
    with _VERIFIED_LOCK:
        _VERIFIED.pop(key, None)
    return None


def _verified_claims(raw: str | bytes, audience: Any) -> dict[str, Any]:
    claims = AccessToken.parse(raw, audience=audience or None).payload
    sid, client_id, jti = claims.get("sid"), claims.get("client_id"), claims["jti"]
    if sid is not None:
        if not isinstance(sid, str):
            raise TokenInvalid("invalid token")
    elif not isinstance(client_id, str) or client_id != claims.get("sub"):
        raise TokenInvalid("invalid token")
    if not isinstance(jti, str):
        raise TokenInvalid("invalid token")
    return claims


def _check_revocation(claims: dict[str, Any]) -> None:
    sid, act = claims.get("sid"), claims.get("act")
    reason = revocation.access_token_state(
        sid=sid,
        client_id=None if sid is not None else claims["client_id"],
        jti=claims["jti"],
        exp=claims["exp"],
        actors=act_chain(act) if act else (),
    )
    if reason is not None:
        raise TokenInvalid(reason)


def act_chain(act: Any) -> tuple[str, ...]:
    """Every `sub` of an RFC 8693 `act` chain (the acting party first), which Warden signed."""
    found = []
    while isinstance(act, dict) and isinstance(act.get("sub"), str):
        found.append(act["sub"])
        act = act.get("act")
    return tuple(found)


def _remember(key: tuple[Any, Any], claims: dict[str, Any], kid: str) -> None:
    size = settings.WARDEN_VERIFY_CACHE_SIZE
    if size <= 0:
        return
    deadline = claims["exp"] + settings.WARDEN_CLOCK_LEEWAY
    with _VERIFIED_LOCK:
        while len(_VERIFIED) >= size:
            del _VERIFIED[next(iter(_VERIFIED))]  # the oldest: dicts keep insertion order
        _VERIFIED[key] = (claims, deadline, kid)


def _copy(claims: dict[str, Any]) -> dict[str, Any]:
    # Callers may change what they get (roles, act): never the remembered claims.
    mine = dict(claims)
    for name, value in mine.items():
        if isinstance(value, list | dict):
            mine[name] = copy.deepcopy(value)
    return mine


def subject_type(claims: dict[str, Any]) -> str:
    return "user" if "sid" in claims else "service"
