"""A refresh's compare-and-swap as one SQL statement that also reads the user and the roles."""

from __future__ import annotations

import functools
import json
import uuid
from datetime import datetime

from django.contrib.auth.models import Group
from django.db import connections, router

from accounts.audit import audit_event_saved, audit_insert_select
from accounts.models import AuditEvent, AuthSession, ServiceClient, User

# What a refresh reads of the user; any other field loads on first use (Django's deferred
# fields), so nothing that touches more of the user can go wrong, it only costs a query.
USER_FIELDS = ("public_id", "email", "is_active")
# The roles as one JSON array per session row (json_agg is NULL without a row).
ROLES_AGGREGATE = {"postgresql": "json_agg({name})::text", "sqlite": "json_group_array({name})"}


def session_swap(
    *,
    sid: uuid.UUID,
    presented: str,
    successor_digest: str,
    client: ServiceClient | None,
    ip: str | None,
    now: datetime,
) -> tuple[AuthSession, list[str]] | None:
    """Replace the digest `presented` with `successor_digest` if it is the current one of a
    live session of `client`: then the session after the swap (its user loaded) and the
    user's roles, sorted; else None, having changed nothing.

    One UPDATE ... RETURNING, instead of the ORM's UPDATE, SELECT of the session with its user
    and SELECT of the roles: one round trip, and no query compiled per request. On PostgreSQL
    the row lock makes concurrent exchanges of one token queue behind the first; each then
    re-checks the digest, matches nothing and gets None (the caller answers it as a repeat).
    """
    found = _swap(
        sid=sid,
        presented=presented,
        successor_digest=successor_digest,
        client=client,
        ip=ip,
        now=now,
        record=None,
    )
    return found and found[:2]


def session_swap_recorded(
    *,
    sid: uuid.UUID,
    presented: str,
    successor_digest: str,
    client: ServiceClient | None,
    ip: str | None,
    now: datetime,
    record: AuditEvent,
) -> tuple[AuthSession, list[str], bool] | None:
    """`session_swap` of a session of the default audience (a refresh that names no resource
    or scope cannot refuse its grant after the swap), storing in the same statement `record`
    (an audit event without its user) as the user's if the user is active, and telling whether
    it did. So no transaction is needed around them: one round trip, no BEGIN, no COMMIT.
    None if nothing was swapped, or if this backend cannot (only PostgreSQL has data-modifying
    CTEs) or the event must go through Model.save: then nothing was executed either."""
    connection = connections[router.db_for_write(AuthSession)]
    if connection.vendor != "postgresql":
        return None
    user_id = connection.ops.quote_name(AuthSession._meta.get_field("user").column)
    insert = audit_insert_select(record, connection, actor_user=f"s.{user_id}")
    if insert is None:
        return None
    return _swap(
        sid=sid,
        presented=presented,
        successor_digest=successor_digest,
        client=client,
        ip=ip,
        now=now,
        record=(record, insert),
    )


def _swap(
    *, sid, presented, successor_digest, client, ip, now, record
) -> tuple[AuthSession, list[str], bool] | None:
    connection = connections[router.db_for_write(AuthSession)]
    statement = _statement(
        connection.vendor, with_client=client is not None, default_audience=record is not None
    )
    field = AuthSession._meta.get_field
    params = [
        field(name).get_db_prep_value(value, connection, prepared=False)
        for name, value in (
            ("refresh_digest", successor_digest),
            ("previous_refresh_digest", presented),
            ("rotated_at", now),
            ("last_used_at", now),
            ("ip", ip),
            ("id", sid),
            ("refresh_digest", presented),
            ("state", AuthSession.State.ACTIVE),
            ("expires_at", now),
            *((("client", client.pk),) if client is not None else ()),
        )
    ]
    sql = statement.sql
    if record is not None:
        sql, params = _with_record(statement, record[1], params)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()  # to the end: SQLite finishes the UPDATE only then
    if not rows:
        return None
    values = list(rows[0])
    recorded = values.pop() if record is not None else None
    for i, (column, converters) in enumerate(statement.converters(connection)):
        for convert in converters:
            values[i] = convert(values[i], column, connection)
    *values, roles = values
    split = len(statement.session_fields)
    session = AuthSession.from_db(connection.alias, statement.session_fields, values[:split])
    session.user = User.from_db(
        connection.alias, ("id", *USER_FIELDS), (session.user_id, *values[split:])
    )
    if client is not None:
        session.client = client  # the UPDATE matched its id
    if recorded is not None:
        record[0].actor_user = session.user
        audit_event_saved(record[0], recorded, using=connection.alias)
    return session, sorted(json.loads(roles) if roles else []), recorded is not None


def _with_record(statement: _Statement, insert: tuple[str, list], params: list):
    """The swap as a data-modifying CTE, the audit INSERT beside it: one atomic statement."""
    quote = connections[router.db_for_write(AuthSession)].ops.quote_name
    insert_sql, insert_params = insert
    sql = (
        f"WITH s AS ({statement.sql}), a AS ({insert_sql} FROM s "  # noqa: S608
        f"WHERE s.{quote('user_is_active')} RETURNING {quote(AuditEvent._meta.pk.column)}) "
        "SELECT s.*, (SELECT * FROM a) FROM s"
    )
    return sql, [*params, *insert_params]


class _Statement:
    def __init__(self, sql: str, session_fields: tuple[str, ...], columns: list) -> None:
        self.sql, self.session_fields, self._columns = sql, session_fields, columns
        self._converters: list | None = None

    def converters(self, connection) -> list:
        """Per column returned: its Col and the converters the ORM would apply to it (one
        backend's, which read only settings every connection of it shares)."""
        if self._converters is None:
            self._converters = [
                (
                    column,
                    connection.ops.get_db_converters(column)
                    + column.output_field.get_db_converters(connection),
                )
                for column in self._columns
            ]
        return self._converters


@functools.cache
def _statement(vendor: str, *, with_client: bool, default_audience: bool = False) -> _Statement:
    # Built from the models' own table and column names, quoted; every value is a parameter.
    quote = connections[router.db_for_write(AuthSession)].ops.quote_name
    session_table = AuthSession._meta.db_table
    session_fields = AuthSession._meta.concrete_fields
    user_table, group_table = User._meta.db_table, Group._meta.db_table
    through = User.groups.through._meta
    member_user = quote(through.get_field("user").column)
    member_group = quote(through.get_field("group").column)
    column = {f.name: quote(f.column) for f in session_fields}
    user_column = AuthSession._meta.get_field("user").column
    users = ", ".join(
        f"(SELECT u.{quote(User._meta.get_field(name).column)} FROM {quote(user_table)} u "  # noqa: S608
        f"WHERE u.{quote(User._meta.pk.column)} = {quote(session_table)}.{quote(user_column)}) "
        f"AS {quote('user_' + name)}"
        for name in USER_FIELDS
    )
    roles = (
        f"(SELECT {ROLES_AGGREGATE[vendor].format(name='g.' + quote('name'))} "  # noqa: S608
        f"FROM {quote(group_table)} g JOIN {quote(through.db_table)} m "
        f"ON m.{member_group} = g.{quote(Group._meta.pk.column)} "
        f"WHERE m.{member_user} = {quote(session_table)}.{quote(user_column)})"
    )
    client_test = f"{column['client']} = %s" if with_client else f"{column['client']} IS NULL"
    if default_audience:
        client_test += f" AND {column['audience']} = ''"
    sql = (
        f"UPDATE {quote(session_table)} SET {column['refresh_digest']} = %s, "  # noqa: S608
        f"{column['previous_refresh_digest']} = %s, "
        f"{column['generation']} = {column['generation']} + 1, "
        f"{column['rotated_at']} = %s, {column['last_used_at']} = %s, {column['ip']} = %s "
        f"WHERE {column['id']} = %s AND {column['refresh_digest']} = %s "
        f"AND {column['state']} = %s AND {column['expires_at']} > %s AND {client_test} "
        f"RETURNING {', '.join(quote(f.column) for f in session_fields)}, {users}, {roles}"
    )
    returned = [f.get_col(session_table) for f in session_fields]
    returned += [User._meta.get_field(name).get_col(user_table) for name in USER_FIELDS]
    returned += [Group._meta.get_field("name").get_col(group_table)]  # converted as text
    return _Statement(sql, tuple(f.attname for f in session_fields), returned)
