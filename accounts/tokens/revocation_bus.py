"""Revocation events between processes: a Redis pub/sub channel, watched by one thread each.

Written by hand: Django's cache API has no publish/subscribe, and the one thing this needs on
top of redis-py's PubSub is an honest answer to "has this process missed anything?". Every
(re)subscription starts a new generation; a process trusts its in-process revoked set only if
it was loaded from the database under the current generation (accounts/tokens/revocation.py).
A channel that errors, or misses its heartbeat, makes the generation -1 until it is back.
"""

from __future__ import annotations

import json
import logging
import select
import threading
import time

from django.conf import settings
from django.core.cache import cache

log = logging.getLogger("warden.revocation")
CHANNEL = "warden:revocations"
_HEARTBEAT = 1.0  # seconds between pings on the subscription
_DEAD_AFTER = 3.0  # no message (pong included) for this long: the channel is lost
# How long a check waits for this process's listener to apply events already delivered to
# its socket (a logout elsewhere that finished just before this request began).
_SETTLE_SECONDS = 0.02


class _Bus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._generation = -1
        self._next_generation = 0
        self._last_seen = 0.0
        self._socket = None
        self._applied = threading.Condition()

    def generation(self) -> int:
        self._ensure_listening()
        if self._generation >= 0 and time.monotonic() - self._last_seen > _DEAD_AFTER:
            return -1
        return self._generation

    def settle(self) -> None:
        """Let the listener apply what Redis already delivered to this process.

        PUBLISH has written an event to every subscriber's socket by the time the revoking
        request answers, so a request that starts later finds it there: one non-blocking poll
        of the socket (no network round trip), and a short wait only when something is
        waiting to be read."""
        sock = self._socket
        if sock is None:
            return
        try:
            readable = select.select([sock], [], [], 0)[0]
        except (OSError, ValueError):
            return
        if readable:
            with self._applied:
                self._applied.wait(_SETTLE_SECONDS)

    def _ensure_listening(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._listen, name="warden-revocations", daemon=True
                )
                self._thread.start()

    def _listen(self) -> None:
        backoff = 0.1
        while True:
            try:
                self._follow()
            except Exception as exc:
                log.warning("revocation channel lost (%s); checks ask the database", exc)
            self._generation = -1
            time.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    def _follow(self) -> None:
        pubsub = _redis().pubsub()
        try:
            pubsub.subscribe(CHANNEL)
            self._socket = pubsub.connection._sock if pubsub.connection else None
            last_ping = 0.0
            while True:
                now = time.monotonic()
                if now - last_ping > _HEARTBEAT:
                    pubsub.ping()
                    last_ping = now
                message = pubsub.get_message(timeout=_HEARTBEAT / 2)
                if message is None:
                    if time.monotonic() - self._last_seen > _DEAD_AFTER:
                        raise ConnectionError("no heartbeat")
                    continue
                self._last_seen = time.monotonic()
                if message["type"] == "subscribe":
                    self._next_generation += 1
                    self._generation = self._next_generation
                elif message["type"] == "message":
                    _apply(message["data"])
                with self._applied:
                    self._applied.notify_all()
        finally:
            self._socket = None
            pubsub.close()


def _redis():
    # The default cache's own client (config.cache): the same server and connection settings.
    return cache._cache.get_client(write=True)


def _apply(data: bytes) -> None:
    try:
        event = json.loads(data)
        receiver(event["kind"], event["id"], float(event["until"]))
    except (ValueError, KeyError, TypeError):
        log.warning("ignored a malformed revocation event")


_bus = _Bus()


def receiver(kind: str, ident: str, until: float) -> None:
    """Replaced by accounts/tokens/revocation.py with the in-process set's `apply`."""


def wanted() -> bool:
    """Whether the default cache is Redis, the one backend with a channel."""
    return "redis" in settings.CACHES["default"]["BACKEND"].lower()


def settle() -> None:
    _bus.settle()


def generation() -> int:
    """The current subscription's number, or -1 while this process may be missing events."""
    return _bus.generation()


def publish(kind: str, ident: str, until: float) -> None:
    """Tell every process; if Redis is away they learn it from the database instead."""
    try:
        _redis().publish(CHANNEL, json.dumps({"kind": kind, "id": ident, "until": until}))
    except Exception as exc:
        log.warning("revocation event not published (%s); other processes resync", exc)
