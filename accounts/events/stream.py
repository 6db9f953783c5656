"""A receiver's stream: its pending SETs by poll (RFC 8936), acknowledgements, configuration."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping

from django.conf import settings
from django.utils import timezone

from accounts.events.outbox import SSF_SCOPE
from accounts.models import EventDelivery, ServiceClient
from accounts.tokens import secevent

MAX_EVENTS_LIMIT = 1000


def receiver_of(*, client_id: str) -> ServiceClient | None:
    """The active service client `client_id`, if it may read the feed."""
    client = ServiceClient.objects.filter(client_id=client_id, is_active=True).first()
    return client if client is not None and SSF_SCOPE in client.allowed_scopes else None


def delivery_token(delivery: EventDelivery, *, receiver: ServiceClient) -> str:
    event = delivery.event
    return secevent.security_event_token(
        jti=delivery.jti.hex,
        audience=receiver.client_id,
        issued_at=int(event.created_at.timestamp()),
        txn=str(event.pk),
        event_type=event.event_type,
        subject=event.subject,
        payload=event.payload,
    )


def _uuids(values: Iterable[str]) -> list[uuid.UUID]:
    found = []
    for value in values:
        try:
            found.append(uuid.UUID(str(value)))
        except ValueError:
            continue  # not one of ours: nothing to acknowledge
    return found


def stream_acknowledge(
    *, receiver: ServiceClient, ack: Iterable[str], errors: Mapping[str, Mapping] | None = None
) -> int:
    """Mark SETs received. A SET the receiver reports an error for (setErrs) is done too:
    sending it again would fail the same way. Returns how many were pending."""
    now, pending = (
        timezone.now(),
        EventDelivery.objects.filter(receiver=receiver, delivered_at=None),
    )
    done = pending.filter(jti__in=_uuids(ack)).update(delivered_at=now)
    for jti, error in (errors or {}).items():
        if not isinstance(error, Mapping):
            error = {}
        text = f"{error.get('err', 'error')}: {error.get('description', '')}"[:200]
        done += pending.filter(jti__in=_uuids([jti])).update(delivered_at=now, last_error=text)
    return done


def stream_poll(
    *,
    receiver: ServiceClient,
    ack: Iterable[str] = (),
    errors: Mapping[str, Mapping] | None = None,
    max_events: int = 100,
    return_immediately: bool = False,
) -> tuple[dict[str, str], bool]:
    """RFC 8936 §2.4: acknowledge, then answer the oldest pending SETs and whether more wait.

    Without returnImmediately the request is held (WARDEN_SSF_POLL_WAIT seconds at most)
    until an event arrives: the database is asked every WARDEN_SSF_POLL_INTERVAL seconds,
    which bounds how late a held poll answers and is one indexed query per interval.
    """
    stream_acknowledge(receiver=receiver, ack=ack, errors=errors)
    max_events = max(0, min(max_events, MAX_EVENTS_LIMIT))
    wait = 0.0 if return_immediately or max_events == 0 else settings.WARDEN_SSF_POLL_WAIT
    deadline = time.monotonic() + wait
    pending = EventDelivery.objects.filter(receiver=receiver, delivered_at=None)
    while True:
        batch = list(pending.select_related("event").order_by("id")[: max_events + 1])
        if batch or time.monotonic() >= deadline:
            break
        time.sleep(settings.WARDEN_SSF_POLL_INTERVAL)
    sets = {d.jti.hex: delivery_token(d, receiver=receiver) for d in batch[:max_events]}
    return sets, len(batch) > max_events


def stream_configuration(*, receiver: ServiceClient, poll_url: str) -> dict:
    """The receiver's stream (OpenID Shared Signals 1.0 §8.1.1): one per receiver, fixed by
    registration, so it is read here and never created or changed over the API."""
    delivery = {"method": "urn:ietf:rfc:8936", "endpoint_url": poll_url}
    if receiver.push_url:
        delivery = {"method": "urn:ietf:rfc:8935", "endpoint_url": receiver.push_url}
    return {
        "stream_id": receiver.client_id,
        "iss": settings.WARDEN_ISSUER,
        "aud": receiver.client_id,
        "events_supported": list(secevent.EVENT_TYPES),
        "events_requested": list(secevent.EVENT_TYPES),
        "events_delivered": list(secevent.EVENT_TYPES),
        "delivery": delivery,
        # Warden extension: polling works for push receivers too (to catch up by hand).
        "poll_endpoint_url": poll_url,
    }
