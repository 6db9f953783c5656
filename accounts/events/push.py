"""Push delivery (RFC 8935) to receivers with a push URL, in order, retried with backoff."""

from __future__ import annotations

import ipaddress
import logging
from datetime import timedelta
from urllib.parse import urlparse

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.events.outbox import receivers
from accounts.events.stream import delivery_token
from accounts.models import EventDelivery, ServiceClient

log = logging.getLogger("warden.events")
BATCH = 100


def push_url_check(url: str) -> str:
    """https, or plain http to a loopback address only (a receiver on the same host)."""
    parsed = urlparse(url)
    if parsed.scheme == "https" and parsed.hostname:
        return url
    if parsed.scheme == "http" and parsed.hostname:
        host = parsed.hostname
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if loopback:
            return url
    raise ValidationError("A push URL must be https (plain http only to a loopback address).")


def receiver_set_push_url(*, client: ServiceClient, push_url: str) -> None:
    client.push_url = push_url_check(push_url) if push_url else ""
    client.save(update_fields=["push_url"])


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 ... seconds, at most WARDEN_SSF_PUSH_MAX_BACKOFF: a receiver back after an hour
    away is caught up within that bound of its return."""
    return timedelta(seconds=min(2 ** max(attempts - 1, 0), settings.WARDEN_SSF_PUSH_MAX_BACKOFF))


def _post(http: requests.Session, url: str, token: str) -> tuple[bool, str]:
    """(done, error): 202 is done; a 400 is the receiver refusing this SET for good (RFC 8935
    §2.3), also done, with its error kept; anything else is tried again later."""
    try:
        response = http.post(
            url,
            data=token.encode("ascii"),
            headers={"Content-Type": "application/secevent+jwt", "Accept": "application/json"},
            timeout=settings.WARDEN_SSF_PUSH_TIMEOUT,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        return False, type(exc).__name__
    if response.status_code == 202:
        return True, ""
    if response.status_code == 400:
        return True, f"400 {response.text[:180]}"
    return False, f"HTTP {response.status_code}"


def push_to(*, receiver: ServiceClient, http: requests.Session) -> int:
    """Send the receiver's pending SETs oldest first, stopping at the first failure, so
    events arrive in order. Returns how many were delivered."""
    delivered = 0
    with transaction.atomic():
        # One worker per receiver at a time (PostgreSQL; SQLite has one writer anyway).
        locked = ServiceClient.objects.select_for_update(skip_locked=True).filter(pk=receiver.pk)
        if not locked.exists():
            return 0
        pending = EventDelivery.objects.filter(receiver=receiver, delivered_at=None)
        batch = list(pending.select_related("event").order_by("id")[:BATCH])
        now = timezone.now()
        if not batch or batch[0].next_attempt_at > now:
            return 0
        for delivery in batch:
            done, error = _post(
                http, receiver.push_url, delivery_token(delivery, receiver=receiver)
            )
            if not done:
                delivery.attempts += 1
                delivery.next_attempt_at = timezone.now() + backoff(delivery.attempts)
                delivery.last_error = error
                delivery.save(update_fields=["attempts", "next_attempt_at", "last_error"])
                log.warning(
                    "push to %s failed (%s), attempt %d", receiver, error, delivery.attempts
                )
                break
            delivery.delivered_at, delivery.last_error = timezone.now(), error
            delivery.save(update_fields=["delivered_at", "last_error"])
            delivered += 1
    return delivered


def push_pending(*, http: requests.Session | None = None) -> int:
    """One round over every push receiver; `manage.py deliver_events` repeats it."""
    own = http is None
    http = http or requests.Session()
    http.trust_env = False
    try:
        return sum(push_to(receiver=r, http=http) for r in receivers() if r.push_url)
    finally:
        if own:
            http.close()
