"""The token endpoint's OpenID grants: a code for Warden's tokens (and an ID token), once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts import errors, selectors, tokens
from accounts.audit import Caller, audit_failure
from accounts.flows.oidc.authorize import digest
from accounts.flows.sessions import session_revoke, session_start
from accounts.models import AuthSession, ServiceClient, User
from oidc.models import AuthorizationCode, OidcClient, OidcSession

_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")  # RFC 7636 §4.1


def oidc_client_of(client: ServiceClient) -> OidcClient:
    try:
        return client.oidc
    except OidcClient.DoesNotExist as exc:
        raise errors.AuthError("unauthorized_client", "This client is not an OpenID app.") from exc


def user_claims(*, user: User, scopes: list[str] | set[str]) -> dict:
    """The claims the granted scopes release, for userinfo and the ID token alike."""
    claims: dict = {"sub": str(user.public_id)}
    if "email" in scopes:
        claims["email"] = user.email
        claims["email_verified"] = selectors.user_email_verified(user=user)
    if "profile" in scopes:
        name = f"{user.first_name} {user.last_name}".strip()
        if name:
            claims["name"] = name
        if user.first_name:
            claims["given_name"] = user.first_name
        if user.last_name:
            claims["family_name"] = user.last_name
    if "roles" in scopes:
        claims["roles"] = selectors.user_roles(user=user)
    return claims


def oidc_session_open(
    *,
    user: User,
    client: ServiceClient,
    scope: str,
    auth_time: datetime,
    amr: list[str],
    browser_key: str,
    caller: Caller,
    nonce: str = "",
) -> tuple[dict, AuthSession]:
    """A Warden session for an app (the same refresh, revocation, verify and audit as any
    other), plus the token response: scope, and an ID token when `openid` was granted.

    The refresh token is always issued: a Warden session is a refresh-token family, whether
    or not the app asked for `offline_access` (which is accepted and changes nothing)."""
    body = dict(session_start(user=user, method="oidc", caller=caller, client=client))
    sid = tokens.opaque.refresh_token_session(body["refresh_token"])
    OidcSession.objects.create(
        session_id=sid,
        client=client,
        scope=scope,
        auth_time=auth_time,
        amr=amr,
        browser_key=browser_key,
    )
    scopes = scope.split()
    body["scope"] = scope
    if "openid" in scopes:
        body["id_token"] = tokens.idtoken.id_token_sign(
            client_id=client.client_id,
            sub=str(user.public_id),
            sid=str(sid),
            auth_time=int(auth_time.timestamp()),
            amr=amr,
            nonce=nonce,
            access_token=body["access_token"],
            claims=user_claims(user=user, scopes=scopes),
        )
    return body, AuthSession.objects.get(pk=sid)


def refreshed_id_token(*, body: dict, client: ServiceClient | None, scope: str | None) -> dict:
    """A refresh of an app's session with `openid` granted brings a new ID token too (OIDC
    Core §12.2): same `sub`, `aud`, `sid`, the original `auth_time` and `amr`, a new `iat`, an
    `at_hash` of the new access token, no `nonce`. `scope`, if the refresh narrowed it, is
    what the claims follow. Other sessions' refreshes are returned as they are."""
    if client is None or getattr(client, "oidc", None) is None:
        return body
    sid = tokens.opaque.refresh_token_session(body["refresh_token"])
    app_session = OidcSession.objects.select_related("session__user").filter(session_id=sid)
    app_session = app_session.first()
    if app_session is None:
        return body
    scopes = app_session.scope.split()
    if scope is not None:
        scopes = [s for s in scopes if s in scope.split()]
    if "openid" not in scopes:
        return body
    user = app_session.session.user
    body["id_token"] = tokens.idtoken.id_token_sign(
        client_id=client.client_id,
        sub=str(user.public_id),
        sid=str(sid),
        auth_time=int(app_session.auth_time.timestamp()),
        amr=app_session.amr,
        access_token=body["access_token"],
        claims=user_claims(user=user, scopes=scopes),
    )
    return body


def pkce_matches(*, challenge: str, verifier: str) -> bool:
    computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return hmac.compare_digest(computed.rstrip(b"=").decode(), challenge)


def authorization_code_exchange(
    *,
    code: str,
    redirect_uri: str | None,
    code_verifier: str | None,
    client: ServiceClient,
    caller: Caller,
) -> dict:
    """RFC 6749 §4.1.3 with PKCE: a code works once, for its client and redirect_uri, within a
    minute; presented again, the session it opened is revoked (RFC 6749 §4.1.2). A refused
    exchange spends the code all the same."""
    oidc_client_of(client)
    code_digest, now = digest(code), timezone.now()
    with transaction.atomic():
        # The code's row lock (PostgreSQL; SQLite writes one at a time anyway) queues a second
        # exchange of the same code behind the first until that one has committed the session
        # it opened: the second then sees the code spent and that session, and revokes it.
        row = (
            AuthorizationCode.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(code_digest=code_digest)
            .first()
        )
        if row is None:
            raise errors.invalid_grant("The authorization code is invalid.")
        if row.used_at is not None:
            refusal = _code_reused(row=row, client=client, caller=caller)
        elif row.expires_at <= now:
            refusal = errors.invalid_grant("The authorization code has expired.")
        else:
            AuthorizationCode.objects.filter(pk=row.pk).update(used_at=now)
            refusal = _code_refusal(
                row=row,
                client=client,
                redirect_uri=redirect_uri,
                code_verifier=code_verifier,
                caller=caller,
            )
            if refusal is None:
                body, session = oidc_session_open(
                    user=row.user,
                    client=client,
                    scope=row.scope,
                    auth_time=row.auth_time,
                    amr=row.amr,
                    browser_key=row.browser_key,
                    caller=caller,
                    nonce=row.nonce,
                )
                AuthorizationCode.objects.filter(pk=row.pk).update(session=session)
                return body
    # Raised after the commit: the spent code, a revocation and the audit records stay.
    raise refusal


def _code_reused(*, row: AuthorizationCode, client: ServiceClient, caller: Caller):
    if row.session_id is not None:
        session = AuthSession.objects.select_related("user").get(pk=row.session_id)
        session_revoke(session=session, reason="code_reuse", caller=caller)
    audit_failure(
        type="oidc_code_reuse", caller=caller, user=row.user, client=client, target=str(row.pk)
    )
    return errors.invalid_grant("The authorization code was already used; its tokens end.")


def _code_refusal(
    *,
    row: AuthorizationCode,
    client: ServiceClient,
    redirect_uri: str | None,
    code_verifier: str | None,
    caller: Caller,
) -> errors.AuthError | None:
    """Why this fresh code may not be exchanged by this request, or None."""
    if row.client_id != client.pk:
        audit_failure(type="oidc_code_wrong_client", caller=caller, client=client)
        return errors.invalid_grant("The authorization code was issued to another client.")
    if redirect_uri != row.redirect_uri:
        return errors.invalid_grant("redirect_uri does not match the authorization request.")
    if row.code_challenge:
        if not code_verifier or not _VERIFIER.match(code_verifier):
            return errors.invalid_grant("A valid code_verifier is required.")
        if not pkce_matches(challenge=row.code_challenge, verifier=code_verifier):
            return errors.invalid_grant("The code_verifier does not match the code_challenge.")
    elif code_verifier:
        return errors.invalid_grant("No code_challenge was sent with this code's request.")
    if not row.user.is_active:
        return errors.invalid_grant("This account is inactive.")
    return None
