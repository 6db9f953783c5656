"""Sessions (refresh-token families): start, refresh exactly once, revoke."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import errors, selectors, tokens
from accounts.audit import Caller, audit_failure, audit_record
from accounts.models import AuthSession, ServiceClient, User


def _new_jti() -> str:
    return uuid.uuid4().hex


def session_start(
    *, user: User, method: str, caller: Caller, client: ServiceClient | None = None
) -> tokens.Tokens:
    """Open a session (a refresh-token family) for an authenticated user; return the pair."""
    now = timezone.now()
    with transaction.atomic():  # the session and its audit record: one commit, not two
        session = AuthSession.objects.create(
            user=user,
            client=client,
            method=method,
            created_at=now,
            last_used_at=now,
            expires_at=now + settings.WARDEN_SESSION_LIFETIME,
            ip=caller.ip,
            user_agent=caller.user_agent[:512],
            refresh_jti=_new_jti(),
        )
        audit_record(
            type="login",
            caller=caller,
            user=user,
            client=client,
            target=str(session.pk),
            details={"method": method, "channel": caller.channel},
        )
    return _session_tokens(session=session, user=user)


def _session_tokens(*, session: AuthSession, user: User) -> tokens.Tokens:
    roles = selectors.user_roles(user=user)
    access = tokens.access_token_for_user(user=user, session=session, roles=roles)
    refresh = tokens.refresh_token_for_session(user=user, session=session)
    return tokens.Tokens.of(access=access, refresh=refresh)


def session_refresh(
    *, refresh_token: str, caller: Caller, client: ServiceClient | None = None
) -> tokens.Tokens:
    """Exchange a refresh token exactly once; a replay revokes the whole session."""
    try:
        presented = tokens.RefreshToken.parse(refresh_token)
    except tokens.TokenInvalid as exc:
        raise errors.invalid_grant("The refresh token is invalid or expired.") from exc
    sid, jti = presented["sid"], presented["jti"]
    now = timezone.now()
    new_jti = _new_jti()
    # One transaction for the swap and its audit record: one commit (one WAL flush) per
    # refresh instead of two. Refusals happen after it, so a revocation is never rolled back.
    with transaction.atomic():
        # Compare-and-swap in one UPDATE: on PostgreSQL the row lock makes concurrent exchanges
        # of one token queue behind the first, which then re-check `refresh_jti` and match
        # nothing.
        swapped = AuthSession.objects.filter(
            pk=sid,
            refresh_jti=jti,
            client=client,
            state=AuthSession.State.ACTIVE,
            expires_at__gt=now,
        ).update(
            refresh_jti=new_jti,
            previous_refresh_jti=jti,
            rotated_at=now,
            last_used_at=now,
            ip=caller.ip,
        )
        session = (
            AuthSession.objects.select_related("user", "client").get(pk=sid) if swapped else None
        )
        if session is not None and session.user.is_active:
            audit_record(
                type="refresh", caller=caller, user=session.user, client=client, target=str(sid)
            )
    if session is None:
        _refresh_refused(sid=sid, jti=jti, client=client, caller=caller, now=now)
    user = session.user
    if not user.is_active:
        session_revoke(session=session, reason="user_inactive", caller=caller)
        raise errors.invalid_grant("This account is inactive.")
    return _session_tokens(session=session, user=user)


def _refresh_refused(
    *, sid: str, jti: str, client: ServiceClient | None, caller: Caller, now
) -> None:
    session = AuthSession.objects.filter(pk=sid).select_related("user").first()
    if session is None or session.client_id != (client.pk if client else None):
        raise errors.invalid_grant("The refresh token is invalid or expired.")
    if not session.is_live:
        raise errors.invalid_grant("The session has ended.")
    grace = timedelta(seconds=settings.WARDEN_REFRESH_REUSE_GRACE)

    def record(event: str) -> None:
        audit_failure(type=event, caller=caller, user=session.user, client=client, target=str(sid))

    if (
        jti == session.previous_refresh_jti
        and session.rotated_at
        and now - session.rotated_at < grace
    ):
        # A client racing itself with one token: refuse the loser, keep the session. Audited,
        # since a thief who refreshed first would look the same to the owner.
        record("refresh_duplicate")
        raise errors.invalid_grant("The refresh token was already used.")
    session_revoke(session=session, reason="refresh_reuse", caller=caller)
    record("refresh_reuse_detected")
    raise errors.invalid_grant("The refresh token was already used; the session is revoked.")


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
    return bool(changed)


def user_sessions_revoke_all(
    *, user: User, reason: str, caller: Caller | None = None, actor: User | None = None
) -> int:
    sessions = list(AuthSession.objects.filter(user=user, state=AuthSession.State.ACTIVE))
    return sum(
        session_revoke(session=s, reason=reason, caller=caller, actor=actor) for s in sessions
    )


def session_end_by_token(
    *, token: str, caller: Caller, client: ServiceClient | None = None, logout: bool = False
) -> bool:
    """Revoke the session an access or refresh token belongs to (logout, RFC 7009).

    A session issued to a client may only be ended by that client: anyone else is refused
    with invalid_client (RFC 7009 §2.1), never told "done" while the tokens live on. `False`
    means nothing was revoked (unknown, invalid or already ended token), which callers report
    as success (RFC 7009 §2.2).
    """
    claims = None
    for kind in (tokens.RefreshToken, tokens.AccessToken):
        try:
            claims = kind.parse(token).payload
            break
        except tokens.TokenInvalid:
            continue
    if claims is None or "sid" not in claims:
        return False
    session = AuthSession.objects.select_related("user").filter(pk=claims["sid"]).first()
    if session is None:
        return False
    if session.client_id is not None and (client is None or client.pk != session.client_id):
        raise errors.invalid_client("This token was issued to another client; authenticate as it.")
    revoked = session_revoke(
        session=session, reason="logout" if logout else "revoked", caller=caller
    )
    if logout and revoked:
        audit_record(type="logout", caller=caller, user=session.user, target=str(session.pk))
    return revoked
