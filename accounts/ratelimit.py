"""Failure limits in the shared cache: sliding windows for password checks, fixed windows
for the cheap checks.

Password checks spend one attempt of each of allauth's "login_failed" rates (per IP, per
account) before the hash, all in one atomic step (`attempt_reserve`: one Lua call on Redis),
and a right password gives its attempt back (`Reservation.refund`). The fixed windows guard
cheap checks (client secrets, token guessing on verify/introspect, codes per mfa_token): an
atomic `incr` per failure is enough, costs one cache round trip, and nothing on success.
"""

from __future__ import annotations

import ipaddress
import math
import secrets
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from redis.commands.core import Script


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


# --- Sliding windows: attempts reserved before the work they guard --------------------------


@dataclass(frozen=True)
class Window:
    """At most `limit` attempts under `key` in any `seconds` (allauth's rate semantics)."""

    key: str
    limit: int
    seconds: float


# Each key is a sorted set of attempts scored by time, as allauth keeps a list of timestamps.
# All windows are checked before any is spent, so a refused attempt spends nothing, and Redis
# runs the script atomically: parallel attempts queue on it instead of on a lock.
_RESERVE = Script(
    None,
    b"""
local now, member = tonumber(ARGV[1]), ARGV[2]
for i, key in ipairs(KEYS) do
  local limit, seconds = tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - seconds)
  if redis.call('ZCARD', key) >= limit then
    local oldest = tonumber(redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2] or now)
    return math.max(1, math.ceil(oldest + seconds - now))
  end
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, member)
  redis.call('EXPIRE', key, math.ceil(tonumber(ARGV[2 + 2 * i])))
end
return 0
""",
)
_REFUND = Script(
    None, b"for _, key in ipairs(KEYS) do redis.call('ZREM', key, ARGV[1]) end return 0"
)
# Without Redis the cache is Django's per-process memory cache (config/settings/base.py), so a
# process lock makes the check-and-spend atomic there.
_local = threading.Lock()


@dataclass(frozen=True)
class Reservation:
    """Attempts spent in some windows; `refund()` gives them back (a right password)."""

    windows: tuple[Window, ...]
    member: str

    def refund(self) -> None:
        if not self.windows:
            return
        backend = caches["default"]
        if isinstance(backend, RedisCache):
            keys = [backend.make_and_validate_key(w.key) for w in self.windows]
            _REFUND(keys=keys, args=[self.member], client=_redis(backend))
            return
        with _local:
            for window in self.windows:
                history = [a for a in backend.get(window.key, []) if a[1] != self.member]
                backend.set(window.key, history, math.ceil(window.seconds) + 1)


def _redis(backend: RedisCache):
    return backend._cache.get_client(write=True)  # the cache's own client (config.cache)


def attempt_reserve(windows: list[Window]) -> Reservation | int:
    """Spend one attempt in every window at once, or in none: the Reservation, or (when one
    is used up) the seconds until it has room again. One round trip on Redis."""
    now, member = time.time(), secrets.token_hex(8)
    if not windows:
        return Reservation((), member)
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        keys = [backend.make_and_validate_key(w.key) for w in windows]
        args = [repr(now), member]
        for window in windows:
            args += [window.limit, repr(float(window.seconds))]
        wait = int(_RESERVE(keys=keys, args=args, client=_redis(backend)))
        return wait or Reservation(tuple(windows), member)
    with _local:
        histories = []
        for window in windows:
            history = [a for a in backend.get(window.key, []) if a[0] > now - window.seconds]
            if len(history) >= window.limit:
                return max(1, math.ceil(history[0][0] + window.seconds - now))
            histories.append(history)
        for window, history in zip(windows, histories, strict=True):
            backend.set(window.key, [*history, (now, member)], math.ceil(window.seconds) + 1)
    return Reservation(tuple(windows), member)
