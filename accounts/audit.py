"""The request context (`Caller`) and the audit trail; the bottom layer, importing no flow."""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass, field

from allauth.account.adapter import get_adapter
from django.core.exceptions import PermissionDenied
from django.db import connections, router
from django.db.models.signals import post_save, pre_save
from django.http import HttpRequest

from accounts import metrics
from accounts.models import AuditEvent, ServiceClient, User

audit_log = logging.getLogger("warden.audit")


@dataclass(frozen=True)
class Caller:
    """Who is on the other end of a request, as far as the audit trail cares."""

    ip: str | None = None
    user_agent: str = ""
    request: HttpRequest | None = field(default=None, compare=False)

    @classmethod
    def of(cls, request: HttpRequest | None) -> Caller:
        if request is None:
            return cls()
        request = getattr(request, "_request", request)  # a DRF request wraps Django's
        try:
            ip = get_adapter(request).get_client_ip(request)
        except PermissionDenied:  # no REMOTE_ADDR: not a real network peer
            ip = None
        return cls(
            ip=ip,
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            request=request,
        )

    @property
    def channel(self) -> str:
        # /auth/ is seed 003's JSON API at the root (api/dialects.py)
        api = self.request and self.request.path.startswith(("/api/", "/auth/"))
        return "api" if api else "web"


def audit_record(**fields) -> AuditEvent:
    """Append an audit event (the keyword arguments of `audit_event_new`) and log it as one
    JSON line. Never pass secrets in `details`."""
    event = audit_event_new(**fields)
    audit_event_insert(event)
    audit_stored(event)
    audit_log_line(event)
    return event


def audit_event_new(
    *,
    type: str,
    caller: Caller | None = None,
    outcome: str = AuditEvent.Outcome.SUCCESS,
    user: User | None = None,
    client: ServiceClient | None = None,
    target: str = "",
    details: dict | None = None,
) -> AuditEvent:
    """The event `audit_record` stores, not stored yet (see `audit_insert_select`)."""
    caller = caller or Caller()
    return AuditEvent(
        type=type,
        outcome=outcome,
        actor_user=user,
        actor_client=client,
        target=target[:255],
        ip=caller.ip,
        user_agent=caller.user_agent[:512],
        details=details or {},
    )


def audit_stored(event: AuditEvent) -> None:
    """Count an event once it is stored (the caller logs it: `audit_log_line`)."""
    metrics.audit_event(type=event.type, outcome=event.outcome, details=event.details)


def audit_insert_select(
    event: AuditEvent, connection, *, actor_user: str
) -> tuple[str, list] | None:
    """`INSERT INTO ... SELECT` of `event`, its actor_user_id the SQL expression `actor_user`,
    for a statement that stores the event with the change it records (it adds FROM and WHERE,
    then sets the new id with `audit_event_saved`); None where `audit_event_insert` would
    call Model.save."""
    if _listened() or not connection.features.can_return_columns_from_insert:
        return None
    _, fields = _insert_statement(connection.vendor)
    quote, meta = connection.ops.quote_name, AuditEvent._meta
    values, params = [], []
    for f in fields:
        if f.attname == "actor_user_id":
            values.append(actor_user)
        else:
            values.append(f"CAST(%s AS {f.cast_db_type(connection)})")
            params.append(f.get_db_prep_save(f.pre_save(event, add=True), connection))
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"SELECT {', '.join(values)}"
    )
    return sql, params


def audit_event_saved(event: AuditEvent, pk, *, using: str) -> None:
    """Mark `event` as the row `pk` of database `using`, as Model.save would."""
    event.pk = AuditEvent._meta.pk.to_python(pk)
    event._state.adding, event._state.db = False, using


def _listened() -> bool:
    return pre_save.has_listeners(AuditEvent) or post_save.has_listeners(AuditEvent)


def audit_event_insert(event: AuditEvent) -> None:
    """Save a new event: one INSERT from a statement built once, not compiled per event
    (a third of a refresh's ORM time), where the backend returns the new id; else `save`."""
    connection = connections[router.db_for_write(AuditEvent)]
    if _listened() or not connection.features.can_return_columns_from_insert:
        event.save(using=connection.alias)
        return
    sql, fields = _insert_statement(connection.vendor)
    params = [f.get_db_prep_save(f.pre_save(event, add=True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        (pk,) = cursor.fetchone()
    audit_event_saved(event, pk, using=connection.alias)


@functools.cache
def _insert_statement(vendor: str) -> tuple[str, tuple]:
    connection = connections[router.db_for_write(AuditEvent)]
    quote, meta = connection.ops.quote_name, AuditEvent._meta
    fields = tuple(f for f in meta.concrete_fields if f is not meta.pk)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {quote(meta.pk.column)}"
    )
    return sql, fields


def audit_log_line(event: AuditEvent) -> None:
    """The event as one JSON line on the audit log."""
    if not audit_log.isEnabledFor(logging.INFO):
        return
    user, client = event.actor_user, event.actor_client
    audit_log.info(
        json.dumps(
            {
                "event": event.type,
                "outcome": event.outcome,
                "at": event.created_at.isoformat(),
                "user": str(user.public_id) if user else None,
                "client": client.client_id if client else None,
                "target": event.target,
                "ip": event.ip,
                "details": event.details,
            },
            default=str,
        )
    )


def audit_failure(
    *,
    type: str,
    caller: Caller | None = None,
    user: User | None = None,
    client: ServiceClient | None = None,
    target: str = "",
    details: dict | None = None,
) -> AuditEvent:
    return audit_record(
        type=type,
        caller=caller,
        outcome=AuditEvent.Outcome.FAILURE,
        user=user,
        client=client,
        target=target,
        details=details,
    )


def login_refused(
    *,
    caller: Caller,
    reason: str,
    user: User | None = None,
    email: str = "",
    method: str = "password",
    client: ServiceClient | None = None,
) -> None:
    """A sign-in that did not happen, whichever flow refused it."""
    audit_failure(
        type="login",
        caller=caller,
        user=user,
        client=client,
        target=email or (user.email if user else ""),
        details={"method": method, "reason": reason, "channel": caller.channel},
    )
