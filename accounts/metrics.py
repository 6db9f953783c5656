"""Prometheus metrics: what happened (from the audit trail), verify outcomes, rate limits, latency.

Counted where the events happen: `audit.audit_record` sees every auditable event, so sign-ins,
refreshes, reuse detections and revocations are counted there, once, by type and outcome. Under
gunicorn set PROMETHEUS_MULTIPROC_DIR (an empty directory, wiped at each start) so every worker
writes its values where the one answering /metrics can add them up (prometheus-client's
multiprocess mode); without it each worker would only report its own share.
"""

from __future__ import annotations

import os
import threading
import time

from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily

AUDIT_EVENTS = Counter(
    "warden_audit_events_total", "Audit events recorded, by type and outcome.", ["type", "outcome"]
)
SIGN_INS = Counter(
    "warden_sign_ins_total", "Sign-in attempts, by method and outcome.", ["method", "outcome"]
)
REFRESHES = Counter("warden_refreshes_total", "Refresh tokens exchanged for a new pair.")
REUSE_DETECTIONS = Counter(
    "warden_refresh_reuse_detections_total",
    "Refresh tokens presented again after their exchange (the session is revoked).",
)
REVOCATIONS = Counter("warden_revocations_total", "Sessions revoked, by reason.", ["reason"])
VERIFY = Counter(
    "warden_verify_total",
    "Token verifications (verify endpoint), by result and the reason a token was refused.",
    ["result", "reason"],
)
RATE_LIMITED = Counter(
    "warden_rate_limited_total", "Requests refused by a rate limit, by endpoint.", ["endpoint"]
)
LATENCY = Histogram(
    "warden_http_request_duration_seconds",
    "Time to answer a request, by URL route name (never the raw path) and method.",
    ["route", "method"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

_VERIFY_ACTIVE = VERIFY.labels("active", "")


def audit_event(*, type: str, outcome: str, details: dict) -> None:
    """Count one audit event; called by audit.audit_record for every event it records."""
    AUDIT_EVENTS.labels(type, outcome).inc()
    if type == "login":
        SIGN_INS.labels(str(details.get("method", "unknown")), outcome).inc()
    elif type == "refresh":
        REFRESHES.inc()
    elif type == "refresh_reuse_detected":
        REUSE_DETECTIONS.inc()
    elif type == "session_revoked":
        REVOCATIONS.labels(str(details.get("reason", "unknown"))).inc()


def verify_outcome(reason: str | None) -> None:
    """`None` for an active token, else the refusal reason (a short fixed set from tokens)."""
    if reason is None:
        _VERIFY_ACTIVE.inc()
    else:
        VERIFY.labels("inactive", reason.replace(" ", "_")).inc()


def rate_limited(endpoint: str) -> None:
    RATE_LIMITED.labels(endpoint).inc()


# --- Scraped values ------------------------------------------------------------------------------

ACTIVE_SESSIONS_TTL = 15.0


class ActiveSessionsCollector:
    """Live sessions, counted by one query when scraped and remembered briefly."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value: float | None = None
        self._at = 0.0

    def describe(self):
        # Lets the registry learn the name without collect() querying the database at import.
        return [GaugeMetricFamily("warden_active_sessions", "Sessions not revoked or expired.")]

    def collect(self):
        from accounts.models import AuthSession

        with self._lock:
            if self._value is None or time.monotonic() - self._at > ACTIVE_SESSIONS_TTL:
                self._value = AuthSession.objects.filter(
                    state=AuthSession.State.ACTIVE, expires_at__gt=timezone.now()
                ).count()
                self._at = time.monotonic()
            value = self._value
        yield GaugeMetricFamily(
            "warden_active_sessions", "Sessions not revoked or expired.", value=value
        )


active_sessions = ActiveSessionsCollector()


def multiprocess_mode() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def registry() -> CollectorRegistry:
    """What /metrics exposes: every worker's values in multiprocess mode, else this process's."""
    if not multiprocess_mode():
        return REGISTRY
    scrape = CollectorRegistry()
    multiprocess.MultiProcessCollector(scrape)
    scrape.register(active_sessions)
    return scrape


if not multiprocess_mode():
    REGISTRY.register(active_sessions)
