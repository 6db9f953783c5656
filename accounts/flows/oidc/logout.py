"""Ending apps' sessions: with the Warden web session, RP-initiated, and back-channel logout."""

from __future__ import annotations

import logging
import threading
import time
import uuid

import requests
from django.db import transaction

from accounts import tokens
from accounts.audit import Caller
from accounts.flows.oidc.authorize import browser_key
from accounts.flows.sessions import session_revoke
from accounts.models import AuthSession, User
from oidc.models import OidcSession

log = logging.getLogger(__name__)
BACKCHANNEL_ATTEMPTS = 3
BACKCHANNEL_TIMEOUT = 3.0


def browser_sessions_end(*, request, user: User, reason: str = "web_logout") -> int:
    """Revoke every live app session signed in from this Warden web session."""
    key = browser_key(request)
    if not key:
        return 0
    linked = AuthSession.objects.select_related("user").filter(
        oidc__browser_key=key, user=user, state=AuthSession.State.ACTIVE
    )
    caller = Caller.of(request)
    return sum(session_revoke(session=s, reason=reason, caller=caller) for s in linked)


def client_sessions_end(*, user: User, client_pk: int, caller: Caller) -> int:
    """Revoke a user's live sessions of one app (the account page's "remove access")."""
    linked = AuthSession.objects.select_related("user").filter(
        user=user, client_id=client_pk, state=AuthSession.State.ACTIVE
    )
    return sum(
        session_revoke(session=s, reason="app_access_removed", caller=caller) for s in linked
    )


def id_token_session_end(*, claims: dict, caller: Caller) -> bool:
    """End the session an `id_token_hint` names (its `sid`, for its `sub` and client)."""
    session = (
        AuthSession.objects.select_related("user", "client")
        .filter(
            pk=_uuid_or_none(claims.get("sid")),
            user__public_id=_uuid_or_none(claims.get("sub")),
            client__client_id=claims.get("aud"),
        )
        .first()
    )
    return bool(session) and session_revoke(session=session, reason="rp_logout", caller=caller)


def _uuid_or_none(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def backchannel_logout_schedule(*, session: AuthSession) -> None:
    """Tell the app whose session ended (OpenID Back-Channel Logout 1.0), after the commit,
    from a short-lived thread with bounded retries: the user never waits for the app."""
    info = OidcSession.objects.select_related("client__oidc").filter(session_id=session.pk).first()
    uri = info.client.oidc.backchannel_logout_uri if info else ""
    if not uri:
        return
    token = tokens.idtoken.logout_token_sign(
        client_id=info.client.client_id, sub=str(session.user.public_id), sid=str(session.pk)
    )

    def start() -> None:
        threading.Thread(target=backchannel_deliver, args=(uri, token), daemon=True).start()

    transaction.on_commit(start)


def backchannel_deliver(uri: str, logout_token: str) -> bool:
    for attempt in range(BACKCHANNEL_ATTEMPTS):
        try:
            answer = requests.post(
                uri,
                data={"logout_token": logout_token},
                timeout=BACKCHANNEL_TIMEOUT,
                allow_redirects=False,
            )
            if 200 <= answer.status_code < 300:
                return True
            log.warning("back-channel logout to %s answered %s", uri, answer.status_code)
        except requests.RequestException as exc:
            log.warning("back-channel logout to %s failed: %s", uri, exc)
        time.sleep(0.5 * 2**attempt)
    return False
