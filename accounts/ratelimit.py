"""Fixed-window failure counters in the shared cache, for limits allauth does not cover.

Password checks use allauth's limiter (it reserves an attempt under a lock before hashing).
The limits here guard cheap checks (client secrets, token guessing on verify/introspect, codes
per mfa_token): an atomic `incr` per failure is enough, costs one cache round trip, and nothing
on success.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache


@dataclass(frozen=True)
class Limit:
    action: str
    limit: int
    window: int  # seconds


def _key(limit: Limit, ident: str) -> tuple[str, int]:
    window_start = int(time.time()) // limit.window * limit.window
    retry_after = window_start + limit.window - int(time.time())
    return f"rl:{limit.action}:{ident}:{window_start}", max(retry_after, 1)


def exempt(ip: str | None) -> bool:
    """Trusted callers (a gateway verifying for all its users) are never throttled."""
    if not ip:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net) for net in settings.RATE_LIMIT_EXEMPT_IPS)


def blocked(limit: Limit, ident: str) -> int | None:
    """Seconds to wait if `ident` has used up `limit` in this window, else None."""
    key, retry_after = _key(limit, ident)
    count = cache.get(key, 0)
    return retry_after if count >= limit.limit else None


def _incr(key: str, ttl: int) -> int:
    cache.add(key, 0, ttl)
    try:
        return cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, ttl)
        return 1


def record_failure(limit: Limit, ident: str) -> int | None:
    """Count one failure; return seconds to wait if this one went over the limit."""
    key, retry_after = _key(limit, ident)
    count = _incr(key, limit.window + 1)
    return retry_after if count > limit.limit else None


def use(limit: Limit, ident: str) -> int:
    """Count one use of a budget that starts at its first use and lasts `limit.window`
    seconds (not a calendar window, which could reset halfway); returns the uses so far."""
    return _incr(f"rl:{limit.action}:{ident}", limit.window)


def client_auth_limit() -> Limit:
    return Limit("client_auth_failed", settings.WARDEN_CLIENT_AUTH_FAILURES_PER_MINUTE, 60)


def token_guess_limit() -> Limit:
    return Limit("token_failed", settings.WARDEN_TOKEN_FAILURES_PER_MINUTE, 60)


def mfa_token_limit() -> Limit:
    """Codes one mfa_token may try, for as long as the token can be presented."""
    lifetime = settings.WARDEN_MFA_TOKEN_LIFETIME.total_seconds() + settings.WARDEN_CLOCK_LEEWAY
    return Limit("mfa_token", settings.WARDEN_MFA_TOKEN_ATTEMPTS, int(lifetime))
