"""Revocation state: whether a session or service client is still live, as verify asks it.

The database is the truth: a cache miss reads it and stores the answer with `add`, so a
concurrent revocation's `set` is never overwritten by a stale read. A cache not shared by every
worker (the local-memory one) could miss another process's revocation, so then verify always
asks the database.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts.models import AuthSession, ServiceClient

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


def _session_live_in_db(sid: str) -> bool:
    return AuthSession.objects.filter(
        pk=sid,
        state=AuthSession.State.ACTIVE,
        expires_at__gt=timezone.now(),
        user__is_active=True,
    ).exists()


def _client_live_in_db(client_id: str) -> bool:
    return ServiceClient.objects.filter(client_id=client_id, is_active=True).exists()


def _live(key: str, lookup: Callable[[str], bool], ident: str) -> bool:
    if not cache_is_shared():
        return lookup(ident)
    state = cache.get(key)
    if state is None:
        live = lookup(ident)
        cache.add(key, 1 if live else 0, _state_ttl())
        return live
    return state == 1


def session_is_live(sid: str) -> bool:
    return _live(_session_key(sid), _session_live_in_db, sid)


def client_is_live(client_id: str) -> bool:
    return _live(_client_key(client_id), _client_live_in_db, client_id)


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
