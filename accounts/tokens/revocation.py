"""Revocation state: is a token's session, its service client, or the token itself revoked?

The database is the truth, and nothing cached may ever say "live" against it. Two modes:

- Per-process caches only (the local-memory default): another worker's revocation would be
  invisible, so every check asks the database (one query).
- Shared (Redis): each process holds the set of what was revoked within one access-token
  lifetime (memory bounded by revocations, not by sessions), loaded from the database and kept
  current by revocation events on a Redis channel (accounts/tokens/revocation_bus.py), so a
  check does no I/O at all. The set is re-read from the database every few seconds, and
  whenever the channel was lost (Redis restarted, failed over, emptied or restored from an old
  snapshot: Redis holds no liveness, so none of that can resurrect a revoked session); until the
  channel is back, every check asks the database.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists
from django.utils import timezone

from accounts.models import AuthSession, ConsumedToken, ServiceClient
from accounts.tokens import revocation_bus

SESSION_DEAD, CLIENT_DEAD, TOKEN_REVOKED = "session revoked", "client revoked", "token revoked"
TOMBSTONE = "revocation"  # ConsumedToken.kind of deleted sessions and clients
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


def _horizon() -> timedelta:
    """How long a revocation matters: the longest an access token minted before it can live."""
    lifetime = max(settings.WARDEN_ACCESS_TOKEN_LIFETIME, settings.WARDEN_SERVICE_TOKEN_LIFETIME)
    return lifetime + timedelta(seconds=settings.WARDEN_CLOCK_LEEWAY)


def revoked_token_id(jti: str) -> str:
    """The ConsumedToken id that marks an access token revoked (until it expires)."""
    return f"access:{jti}"


# --- The database's answer ----------------------------------------------------------------------


def _state_in_db(
    *, sid: str | None, client_id: str | None, jti: str, actors: tuple[str, ...] = ()
) -> str | None:
    """Why the token is not live (one query: its subject, and its own revocation; one more for
    an exchanged token's acting clients), or None."""
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
    if row:
        return TOKEN_REVOKED
    if actors and _an_actor_gone(actors):
        return CLIENT_DEAD
    return None


def _an_actor_gone(actors: tuple[str, ...]) -> bool:
    """Whether a client in an exchanged token's `act` chain is deactivated or deleted. (An
    admin's user id in an impersonation's `act` matches no client: its `sid` covers it.)"""
    gone = ServiceClient.objects.filter(client_id__in=actors, is_active=False)
    deleted = ConsumedToken.objects.filter(jti__in=[f"client:{a}" for a in actors])
    return gone.exists() or deleted.exists()


def _snapshot() -> tuple[dict[str, float], set[str], dict[str, float]]:
    """Everything revoked that can still matter: sessions, clients, single tokens."""
    now = timezone.now()
    since, keep = now - _horizon(), time.time() + _horizon().total_seconds()
    sessions: dict[str, float] = {}
    # Each query is served by an index (revoked_at: partial, revoked rows only; expires_at;
    # the user's), so a reload costs milliseconds with a million sessions, not a scan.
    revoked = AuthSession.objects.filter(state=AuthSession.State.REVOKED, revoked_at__gt=since)
    for sid, revoked_at in revoked.order_by().values_list("pk", "revoked_at"):
        sessions[str(sid)] = (revoked_at + _horizon()).timestamp()
    # Ended without a revocation: past the absolute lifetime, or a user switched off in bulk.
    active = AuthSession.objects.filter(state=AuthSession.State.ACTIVE).order_by()
    for ended in (
        active.filter(expires_at__lte=now, expires_at__gt=since),
        active.filter(user__is_active=False),
    ):
        for sid in ended.values_list("pk", flat=True):
            sessions[str(sid)] = keep
    clients = set(ServiceClient.objects.filter(is_active=False).values_list("client_id", flat=True))
    single: dict[str, float] = {}
    for ident, expires_at in ConsumedToken.objects.filter(
        kind__in=("access_revoked", TOMBSTONE), expires_at__gt=now
    ).values_list("jti", "expires_at"):
        kind, _, value = ident.partition(":")
        if kind == "access":
            single[value] = expires_at.timestamp()
        elif kind == "sid":
            sessions[value] = expires_at.timestamp()
        elif kind == "client":
            clients.add(value)
    return sessions, clients, single


# --- The in-process set ---------------------------------------------------------------------------


class RevokedSet:
    """What this process knows to be revoked; trusted only while it is provably current."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, float] = {}
        self._clients: set[str] = set()
        self._tokens: dict[str, float] = {}
        self._loaded_at = 0.0  # monotonic; 0: never loaded
        self._loaded_for = -1  # the bus generation the snapshot was taken under

    def reset(self) -> None:
        with self._lock:
            self._sessions, self._clients, self._tokens = {}, set(), {}
            self._loaded_at, self._loaded_for = 0.0, -1

    def apply(self, kind: str, ident: str, until: float) -> None:
        with self._lock:
            if kind == "session":
                self._sessions[ident] = until
            elif kind == "client":
                self._clients.add(ident)
            elif kind == "client_live":
                self._clients.discard(ident)
            elif kind == "token":
                self._tokens[ident] = until

    def current(self) -> bool:
        """Loaded under the live channel and recently enough; reload when due (one caller)."""
        generation = revocation_bus.generation() if revocation_bus.wanted() else 0
        if generation < 0:
            return False  # the channel is down: nothing in process can be trusted
        due = time.monotonic() - self._loaded_at > settings.WARDEN_REVOCATION_RESYNC_SECONDS
        if (due or self._loaded_for != generation) and self._lock.acquire(blocking=False):
            try:
                sessions, clients, single = _snapshot()
                self._sessions, self._clients, self._tokens = sessions, clients, single
                self._loaded_at, self._loaded_for = time.monotonic(), generation
            finally:
                self._lock.release()
        return self._loaded_for == generation and self._loaded_at > 0

    def reason(
        self, *, sid: str | None, client_id: str | None, jti: str, actors: tuple[str, ...] = ()
    ) -> str | None:
        if revocation_bus.wanted():
            revocation_bus.settle()
        now = time.time()
        if sid is not None and self._sessions.get(sid, 0) > now:
            return SESSION_DEAD
        if sid is None and client_id in self._clients:
            return CLIENT_DEAD
        if self._tokens.get(jti, 0) > now:
            return TOKEN_REVOKED
        if actors and not self._clients.isdisjoint(actors):
            return CLIENT_DEAD
        return None

    def size(self) -> int:
        return len(self._sessions) + len(self._clients) + len(self._tokens)


revoked = RevokedSet()
revocation_bus.receiver = revoked.apply


def _in_process() -> bool:
    """Whether the in-process set may answer: with Redis (its channel keeps every process
    current), or with a cache forced "shared" that is not Redis, which declares a single
    process (memcached, shared but without a channel, is not trusted this way)."""
    if not cache_is_shared():
        return False
    backend = settings.CACHES["default"]["BACKEND"]
    return revocation_bus.wanted() or backend.endswith("LocMemCache")


def client_is_live(client_id: str) -> bool:
    """Whether a service client is neither deactivated nor deleted, as a check of one of its
    tokens would answer (in process with Redis, else one query)."""
    if _in_process() and revoked.current():
        return revoked.reason(sid=None, client_id=client_id, jti="") is None
    return ServiceClient.objects.filter(client_id=client_id, is_active=True).exists()


def access_token_state(
    *, sid: str | None, client_id: str | None, jti: str, exp: int, actors: tuple[str, ...] = ()
) -> str | None:
    """Why a verified access token is refused (session or client ended, token revoked, a client
    it was exchanged by deactivated), or None: it is live. No I/O in the steady state with
    Redis (see above)."""
    if _in_process() and revoked.current():
        return revoked.reason(sid=sid, client_id=client_id, jti=jti, actors=actors)
    return _state_in_db(sid=sid, client_id=client_id, jti=jti, actors=actors)


# --- Publishing revocations ---------------------------------------------------------------------


def _publish(kind: str, ident: str, until: float) -> None:
    """This process knows at once; every other one when the change commits."""
    revoked.apply(kind, ident, until)

    def committed() -> None:
        revoked.apply(kind, ident, until)  # again: a reload meanwhile may have dropped it
        if revocation_bus.wanted():
            revocation_bus.publish(kind, ident, until)

    transaction.on_commit(committed)


def mark_session_dead(sid: str) -> None:
    _publish("session", sid, time.time() + _horizon().total_seconds())


def mark_session_deleted(sid: str) -> None:
    """A deleted session leaves a tombstone, so a reload from the database still knows it."""
    _tombstone(f"sid:{sid}")
    mark_session_dead(sid)


def mark_token_revoked(jti: str, *, exp: int) -> None:
    _publish("token", jti, exp + settings.WARDEN_CLOCK_LEEWAY)


def mark_client_state(client_id: str, *, live: bool, deleted: bool = False) -> None:
    if deleted:
        _tombstone(f"client:{client_id}")
    if live:
        # Trusted again only once the reactivation commits.
        transaction.on_commit(lambda: _publish("client_live", client_id, 0))
    else:
        _publish("client", client_id, 0)


def _tombstone(ident: str) -> None:
    ConsumedToken.objects.get_or_create(
        jti=ident, defaults={"kind": TOMBSTONE, "expires_at": timezone.now() + _horizon()}
    )
