"""Revocations become Security Events, written in the same transaction as the revocation.

Called by the flows (sessions, users, clients, keys) with one line each. An event is stored
once (SecurityEvent) and queued for every receiver registered at that moment (EventDelivery),
so a receiver registered later sees events from its registration on.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import (
    AuthSession,
    EventDelivery,
    SecurityEvent,
    ServiceClient,
    SigningKey,
    User,
)
from accounts.tokens import secevent

SSF_SCOPE = "ssf:poll"

# Who ended a session (CAEP `initiating_entity`), by session_revoke's reason.
_INITIATED_BY = {
    "logout": "user",
    "user": "user",
    "revoked": "user",
    "admin": "admin",
    "password_changed": "user",
}
# Reasons that end every session of a user and are an event about the user as well.
_USER_EVENTS = {
    "password_changed": secevent.CREDENTIAL_CHANGE,
    "user_deactivated": secevent.ACCOUNT_DISABLED,
}


def _opaque(value: object) -> dict[str, str]:
    return {"format": "opaque", "id": str(value)}


def receivers() -> list[ServiceClient]:
    """Active service clients allowed to read the feed (there are few: filtered here, since
    SQLite cannot look inside a JSON list)."""
    return [
        c for c in ServiceClient.objects.filter(is_active=True) if SSF_SCOPE in c.allowed_scopes
    ]


def event_record(
    *, event_type: str, subject: dict, payload: dict | None = None, at: datetime | None = None
) -> SecurityEvent:
    """Store an event and queue it for every receiver, inside the caller's transaction."""
    at = at or timezone.now()
    with transaction.atomic():
        event = SecurityEvent.objects.create(
            created_at=at,
            event_type=event_type,
            subject=subject,
            payload={"event_timestamp": int(at.timestamp()), **(payload or {})},
        )
        EventDelivery.objects.bulk_create(
            EventDelivery(event=event, receiver=receiver, next_attempt_at=at)
            for receiver in receivers()
        )
    return event


def session_revoked(*, session: AuthSession, reason: str) -> None:
    """CAEP session-revoked; the subject is the session id, the `sid` of its access tokens."""
    event_record(
        event_type=secevent.SESSION_REVOKED,
        subject=_opaque(session.pk),
        payload={
            "initiating_entity": _INITIATED_BY.get(reason, "policy"),
            "reason_admin": {"en": reason},
        },
    )


def user_sessions_ended(*, user: User, reason: str, ended: int) -> None:
    """A password change (CAEP credential-change) or a deactivation (RISC account-disabled)
    is also an event about the user, whose `sub` is the subject: a receiver can refuse every
    token of that user issued before it. A password change that ended no session (the first
    password, at sign-up, is one) left no token to refuse and is not sent."""
    event_type = _USER_EVENTS.get(reason)
    if event_type is None or (event_type == secevent.CREDENTIAL_CHANGE and not ended):
        return
    payload = {"credential_type": "password", "change_type": "update"}
    event_record(
        event_type=event_type,
        subject=_opaque(user.public_id),
        payload=payload if event_type == secevent.CREDENTIAL_CHANGE else {},
    )


def token_revoked(*, jti: str, exp: int) -> None:
    """One access token revoked (RFC 7009): Warden's own event type, subject the `jti`."""
    event_record(event_type=secevent.TOKEN_REVOKED, subject=_opaque(jti), payload={"exp": exp})


def service_client_active_changed(*, client: ServiceClient, active: bool) -> None:
    """A deactivated service client: RISC account-disabled about its `sub` (the client_id)."""
    if not active:
        event_record(event_type=secevent.ACCOUNT_DISABLED, subject=_opaque(client.client_id))


def signing_keys_retire(*, now: datetime) -> int:
    """Retire the keys whose time is up, each with an event, in one transaction."""
    with transaction.atomic():
        due = list(
            SigningKey.objects.select_for_update().filter(
                state=SigningKey.State.VERIFYING, retire_at__lte=now
            )
        )
        SigningKey.objects.filter(pk__in=[k.pk for k in due]).update(state=SigningKey.State.RETIRED)
        for key in due:
            event_record(event_type=secevent.SIGNING_KEY_RETIRED, subject=_opaque(key.kid), at=now)
    return len(due)


def retention() -> timedelta:
    """How long an event matters: past the longest access-token lifetime, every token it
    could refuse has expired anyway."""
    longest = max(settings.WARDEN_ACCESS_TOKEN_LIFETIME, settings.WARDEN_SERVICE_TOKEN_LIFETIME)
    return longest + timedelta(seconds=settings.WARDEN_CLOCK_LEEWAY)


def events_purge(*, now: datetime) -> int:
    """Drop events (and their undelivered copies) older than retention()."""
    return (
        SecurityEvent.objects.filter(created_at__lte=now - retention())
        .delete()[1]
        .get(SecurityEvent._meta.label, 0)
    )
