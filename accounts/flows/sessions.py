"""Sessions (refresh-token families): start, refresh exactly once, revoke."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from accounts import errors, selectors, tokens
from accounts.audit import (
    Caller,
    audit_event_insert,
    audit_event_new,
    audit_failure,
    audit_log_line,
    audit_record,
    audit_stored,
)
from accounts.events import outbox as events
from accounts.flows.audiences import refresh_grant
from accounts.flows.session_swap import session_swap, session_swap_recorded
from accounts.models import AuthSession, ConsumedToken, ServiceClient, User

# Sent once when a live session is revoked (logout, reuse, admin, deactivation): apps signed
# in through it are told (OpenID back-channel logout) by a receiver in oidc/signals.py.
session_ended = Signal()


def session_start(
    *,
    user: User,
    method: str,
    caller: Caller,
    client: ServiceClient | None = None,
    grant: tokens.Grant | None = None,
    roles: list[str] | None = None,
) -> tokens.Tokens:
    """Open a session (a refresh-token family) for an authenticated user; return the pair.

    The session keeps its grant (audience, scopes): refreshes continue it, never widen it.
    `roles`: the user's, when the caller has just read them (else they are read here)."""
    grant = grant or tokens.Grant(tokens.default_audience())
    now, sid = timezone.now(), uuid.uuid4()
    refresh = tokens.opaque.refresh_token_new(sid)
    with transaction.atomic():  # the session and its audit record: one commit, not two
        session = AuthSession.objects.create(
            id=sid,
            user=user,
            client=client,
            method=method,
            audience="" if grant.audience.is_default else grant.audience.identifier,
            scope=grant.scope or "",
            created_at=now,
            last_used_at=now,
            expires_at=now + settings.WARDEN_SESSION_LIFETIME,
            ip=caller.ip,
            user_agent=caller.user_agent[:512],
            refresh_digest=tokens.opaque.digest(refresh),
        )
        audit_record(
            type="login",
            caller=caller,
            user=user,
            client=client,
            target=str(session.pk),
            details={"method": method, "channel": caller.channel},
        )
    return _session_tokens(session=session, user=user, refresh=refresh, grant=grant, roles=roles)


def _session_tokens(
    *,
    session: AuthSession,
    user: User,
    refresh: str,
    grant: tokens.Grant,
    roles: list[str] | None = None,
) -> tokens.Tokens:
    roles = selectors.user_roles(user=user) if roles is None else roles
    access = tokens.access_token_for_user(user=user, session=session, roles=roles, grant=grant)
    return tokens.Tokens.of(access=access, refresh=refresh)


def session_refresh(
    *,
    refresh_token: str,
    caller: Caller,
    client: ServiceClient | None = None,
    resource: str | None = None,
    scope: str | None = None,
    claims: tuple[str, ...] = (),
) -> tokens.Tokens:
    """Exchange a refresh token exactly once for its successor.

    A repeat of the token just exchanged, within WARDEN_REFRESH_REUSE_GRACE seconds and before
    the successor was itself exchanged, is a client whose answer was lost (or a client racing
    itself): it gets the same successor and a fresh access token. Any other reuse revokes the
    whole session (RFC 9700 §4.14.2). `resource` and `scope` may narrow the session's grant
    for this access token (RFC 8707 §2.2); without them it keeps the grant's. `claims` adds
    claim names a dialect's callers read (accounts/flows/dialects.py).
    """
    try:
        sid = tokens.opaque.refresh_token_session(refresh_token)
    except tokens.TokenInvalid as exc:
        raise errors.invalid_grant("The refresh token is invalid or expired.") from exc
    presented = tokens.opaque.digest(refresh_token)
    successor = tokens.opaque.refresh_token_successor(refresh_token)
    now = timezone.now()
    swap = {
        "sid": sid,
        "presented": presented,
        "successor_digest": tokens.opaque.digest(successor),
        "client": client,
        "ip": caller.ip,
        "now": now,
    }
    event = audit_event_new(type="refresh", caller=caller, client=client, target=str(sid))
    # Most refreshes (no resource or scope asked, a session of the default audience): the swap
    # and its audit record in one statement, its own transaction (PostgreSQL). Anything else
    # (a repeat, a session of a resource server, SQLite) takes the transaction below.
    swapped = None if resource or scope else session_swap_recorded(**swap, record=event)
    session, roles, recorded = swapped or (None, None, False)
    grant = None
    if swapped is None:
        # One transaction for the swap and its audit record: one commit (one WAL flush) per
        # refresh. Refusals happen after it, so a revocation is never rolled back.
        with transaction.atomic():
            session, roles = session_swap(**swap) or (None, None)
            if session is not None:
                # Refused inside the transaction: the swap rolls back, the token stays usable.
                grant = refresh_grant(session=session, resource=resource, scope=scope)
            if session is not None and session.user.is_active:
                event.actor_user = session.user
                audit_event_insert(event)
                recorded = True
    if recorded:
        audit_stored(event)
        audit_log_line(event)  # once committed: not written while the row lock is held
    if session is None:
        session = _refresh_repeated(
            sid=sid, refresh_token=refresh_token, client=client, caller=caller, now=now
        )
    user = session.user
    if not user.is_active:
        session_revoke(session=session, reason="user_inactive", caller=caller)
        raise errors.invalid_grant("This account is inactive.")
    grant = grant or refresh_grant(session=session, resource=resource, scope=scope)
    return _session_tokens(
        session=session, user=user, refresh=successor, grant=grant.with_claims(claims), roles=roles
    )


def _refresh_repeated(
    *, sid, refresh_token: str, client: ServiceClient | None, caller: Caller, now
) -> AuthSession:
    """A token that is not the session's current one: the grace answer, or a refusal."""
    session = AuthSession.objects.filter(pk=sid).select_related("user", "client").first()
    if session is None or session.client_id != (client.pk if client else None):
        raise errors.invalid_grant("The refresh token is invalid or expired.")
    if not session.is_live:
        raise errors.invalid_grant("The session has ended.")
    presented = tokens.opaque.digest(refresh_token)
    successor = tokens.opaque.refresh_token_successor(refresh_token)
    grace = timedelta(seconds=settings.WARDEN_REFRESH_REUSE_GRACE)
    if (
        presented == session.previous_refresh_digest
        and session.refresh_digest == tokens.opaque.digest(successor)
        and session.rotated_at
        and now - session.rotated_at < grace
    ):
        # Audited: a thief who refreshed first would look the same to the owner, and the
        # next rotation by either of them makes the other's next use a detected reuse.
        audit_record(
            type="refresh_repeat", caller=caller, user=session.user, client=client, target=str(sid)
        )
        return session
    if not _issued_in(session, refresh_token):
        # Never issued: a made-up secret under a known session id (sids are in access tokens)
        # must not end someone else's session.
        raise errors.invalid_grant("The refresh token is invalid or expired.")
    session_revoke(session=session, reason="refresh_reuse", caller=caller)
    audit_failure(
        type="refresh_reuse_detected",
        caller=caller,
        user=session.user,
        client=client,
        target=str(sid),
    )
    raise errors.invalid_grant("The refresh token was already used; the session is revoked.")


def _issued_in(session: AuthSession, refresh_token: str) -> bool:
    """Whether `refresh_token` is an earlier token of this session: its chain of successors
    (one HMAC each, at most one per rotation so far) reaches the current token."""
    token = refresh_token
    for _ in range(session.generation):
        token = tokens.opaque.refresh_token_successor(token)
        if tokens.opaque.digest(token) == session.refresh_digest:
            return True
    return False


@transaction.atomic  # the revocation and its event: one commit
def session_revoke(
    *, session: AuthSession, reason: str, caller: Caller | None = None, actor: User | None = None
) -> bool:
    """End a session at once, everywhere. Returns False if it had already ended."""
    changed = AuthSession.objects.filter(pk=session.pk, state=AuthSession.State.ACTIVE).update(
        state=AuthSession.State.REVOKED, revoked_at=timezone.now(), revoke_reason=reason
    )
    tokens.mark_session_dead(str(session.pk))
    if changed:
        audit_record(
            type="session_revoked",
            caller=caller,
            user=actor or session.user,
            target=str(session.pk),
            details={"reason": reason, "subject": str(session.user.public_id)},
        )
        session_ended.send(sender=AuthSession, session=session)
        events.session_revoked(session=session, reason=reason)
    return bool(changed)


@transaction.atomic
def user_sessions_revoke_all(
    *, user: User, reason: str, caller: Caller | None = None, actor: User | None = None
) -> int:
    sessions = list(AuthSession.objects.filter(user=user, state=AuthSession.State.ACTIVE))
    events.user_sessions_ended(user=user, reason=reason, ended=len(sessions))
    return sum(
        session_revoke(session=s, reason=reason, caller=caller, actor=actor) for s in sessions
    )


def _session_of_refresh_token(token: str, *, client: ServiceClient | None) -> AuthSession | None:
    """The session whose current (or just-exchanged) refresh token this is, or None.

    A session issued to a client may only be ended by that client: anyone else is refused
    with invalid_client (RFC 7009 §2.1), never told "done" while the tokens live on.
    """
    try:
        sid = tokens.opaque.refresh_token_session(token)
    except tokens.TokenInvalid:
        return None
    presented = tokens.opaque.digest(token)
    session = AuthSession.objects.select_related("user").filter(pk=sid).first()
    if session is None or presented not in (
        session.refresh_digest,
        session.previous_refresh_digest,
    ):
        return None
    if session.client_id is not None and (client is None or client.pk != session.client_id):
        raise errors.invalid_client("This token was issued to another client; authenticate as it.")
    return session


def session_logout(
    *, refresh_token: str, caller: Caller, client: ServiceClient | None = None
) -> bool:
    """End the session a refresh token belongs to. Only a refresh token ends a session: an
    access token reaches every service its user calls, so it must not end the user's session.
    `False` means nothing was revoked, which callers report as success (RFC 7009 §2.2)."""
    session = _session_of_refresh_token(refresh_token, client=client)
    if session is None:
        return False
    revoked = session_revoke(session=session, reason="logout", caller=caller)
    if revoked:
        audit_record(type="logout", caller=caller, user=session.user, target=str(session.pk))
    return revoked


def token_revoke(*, token: str, caller: Caller, client: ServiceClient | None = None) -> bool:
    """RFC 7009: a refresh token ends its session; an access token ends itself, until it
    expires, on every instance at once. `False`: nothing was revoked (bad or unknown token)."""
    session = _session_of_refresh_token(token, client=client)
    if session is not None:
        return session_revoke(session=session, reason="revoked", caller=caller)
    try:
        claims = tokens.AccessToken.parse(token, audience=tokens.ANY_AUDIENCE).payload
    except tokens.TokenInvalid:
        return False
    owner = claims.get("client_id")
    if owner is not None and (client is None or client.client_id != owner):
        raise errors.invalid_client("This token was issued to another client; authenticate as it.")
    expires_at = datetime.fromtimestamp(claims["exp"], tz=UTC) + timedelta(
        seconds=settings.WARDEN_CLOCK_LEEWAY
    )
    tokens.revocation.mark_token_revoked(claims["jti"], exp=claims["exp"])
    with transaction.atomic():
        _, created = ConsumedToken.objects.get_or_create(
            jti=tokens.revocation.revoked_token_id(claims["jti"]),
            defaults={"kind": "access_revoked", "expires_at": expires_at},
        )
        if created:
            audit_record(
                type="token_revoked",
                caller=caller,
                client=client,
                target=claims["jti"],
                details={"subject": claims["sub"], "sid": claims.get("sid")},
            )
            events.token_revoked(jti=claims["jti"], exp=claims["exp"])
    return created
