"""Revocation state: whether a session, a service client and one access token are still live.

The database is the truth: a cache miss reads it and stores the answer with `add`, so a
concurrent revocation's `set` is never overwritten by a stale read. A cache not shared by every
worker (the local-memory one) could miss another process's revocation, so then verify always
asks the database.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists
from django.utils import timezone

from accounts.models import AuthSession, ConsumedToken, ServiceClient

SHARED_CACHE_BACKENDS = (
    "config.cache.WardenRedisCache",  # Django's Redis backend, one client per pool
    "django.core.cache.backends.redis.",
    "django.core.cache.backends.memcached.",
    "django_redis.",
)


def cache_is_shared() -> bool:
    value = settings.WARDEN_SHARED_CACHE
    if isinstance(value, str) and value.lower() == "auto":
        backend_path = settings.CACHES["default"]["BACKEND"]
        return backend_path.startswith(SHARED_CACHE_BACKENDS)
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes", "on")
    return bool(value)


def _state_ttl() -> int:
    lifetime = max(settings.WARDEN_ACCESS_TOKEN_LIFETIME, settings.WARDEN_SERVICE_TOKEN_LIFETIME)
    return int(lifetime.total_seconds()) + settings.WARDEN_CLOCK_LEEWAY


def _session_key(sid: str) -> str:
    return f"live:sid:{sid}"


def _client_key(client_id: str) -> str:
    return f"live:client:{client_id}"


def _token_key(jti: str) -> str:
    return f"revoked:jti:{jti}"


def revoked_token_id(jti: str) -> str:
    """The ConsumedToken id that marks an access token revoked (until it expires)."""
    return f"access:{jti}"


SESSION_DEAD, CLIENT_DEAD, TOKEN_REVOKED = "session revoked", "client revoked", "token revoked"


def _state_in_db(*, sid: str | None, client_id: str | None, jti: str) -> str | None:
    """Why the token is not live (one query: its subject, and its own revocation), or None."""
    revoked = Exists(ConsumedToken.objects.filter(jti=revoked_token_id(jti)))
    if sid is not None:
        subject = AuthSession.objects.filter(
            pk=sid,
            state=AuthSession.State.ACTIVE,
            expires_at__gt=timezone.now(),
            user__is_active=True,
        )
        dead = SESSION_DEAD
    else:
        subject = ServiceClient.objects.filter(client_id=client_id, is_active=True)
        dead = CLIENT_DEAD
    row = subject.annotate(revoked=revoked).values_list("revoked", flat=True).first()
    if row is None:
        return dead
    return TOKEN_REVOKED if row else None


def access_token_state(*, sid: str | None, client_id: str | None, jti: str, exp: int) -> str | None:
    """Why a verified access token is refused (session or client ended, token revoked), or
    None: it is live. With a shared cache, one round trip and no query in the steady state."""
    if not cache_is_shared():
        return _state_in_db(sid=sid, client_id=client_id, jti=jti)
    subject_key = _session_key(sid) if sid is not None else _client_key(client_id)
    token_key = _token_key(jti)
    cached = cache.get_many([subject_key, token_key])
    subject, token = cached.get(subject_key), cached.get(token_key)
    if subject == 0:
        return SESSION_DEAD if sid is not None else CLIENT_DEAD
    if token == 1:
        return TOKEN_REVOKED
    if subject is not None and token is not None:
        return None
    reason = _state_in_db(sid=sid, client_id=client_id, jti=jti)
    subject_dead = reason in (SESSION_DEAD, CLIENT_DEAD)
    if subject is None:
        cache.add(subject_key, 0 if subject_dead else 1, _state_ttl())
    if token is None and not subject_dead:
        cache.add(token_key, 1 if reason == TOKEN_REVOKED else 0, _token_ttl(exp))
    return reason


def _token_ttl(exp: int) -> int:
    return max(1, int(exp - time.time()) + settings.WARDEN_CLOCK_LEEWAY)


def mark_token_revoked(jti: str, *, exp: int) -> None:
    """Publish a revoked access token, before the revoking transaction commits (see below)."""
    cache.set(_token_key(jti), 1, _token_ttl(exp))


def mark_session_dead(sid: str) -> None:
    """Publish a revocation to every instance at once.

    Written before the revoking transaction commits: a reader that saw the still-active row
    can then only `add`, which loses to this `set`. A rollback leaves a spurious denial for
    one access-token lifetime at worst, failing closed.
    """
    cache.set(_session_key(sid), 0, _state_ttl())


def mark_client_state(client_id: str, *, live: bool) -> None:
    if live:
        # Re-activation must not be trusted before it commits: drop the entry, let DB answer.
        transaction.on_commit(lambda: cache.delete(_client_key(client_id)))
    else:
        cache.set(_client_key(client_id), 0, _state_ttl())
