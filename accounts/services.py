"""Business operations that change state: sign-ins, sessions, clients, keys, roles, audit."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from allauth.account.adapter import get_adapter
from allauth.account.models import EmailAddress
from allauth.core import ratelimit as allauth_ratelimit
from allauth.core.internal.ratelimit import parse_rates
from allauth.socialaccount.adapter import get_adapter as get_social_adapter
from allauth.socialaccount.models import SocialApp, SocialLogin
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts import errors, google, metrics, mfa, ratelimit, tokens
from accounts.models import (
    AuditEvent,
    AuthSession,
    ConsumedToken,
    ServiceClient,
    SigningKey,
    User,
)

audit_log = logging.getLogger("warden.audit")


@dataclass(frozen=True)
class Caller:
    """Who is on the other end of a request, as far as the audit trail cares."""

    ip: str | None = None
    user_agent: str = ""
    request: HttpRequest | None = field(default=None, compare=False)

    @classmethod
    def of(cls, request: HttpRequest) -> Caller:
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
        return "api" if self.request and self.request.path.startswith("/api/") else "web"


# --- Audit --------------------------------------------------------------------------------------


def audit_record(
    *,
    type: str,
    caller: Caller | None = None,
    outcome: str = AuditEvent.Outcome.SUCCESS,
    user: User | None = None,
    client: ServiceClient | None = None,
    target: str = "",
    details: dict | None = None,
) -> AuditEvent:
    """Append an audit event and log it as one JSON line. Never pass secrets in `details`."""
    caller = caller or Caller()
    event = AuditEvent.objects.create(
        type=type,
        outcome=outcome,
        actor_user=user,
        actor_client=client,
        target=target[:255],
        ip=caller.ip,
        user_agent=caller.user_agent[:512],
        details=details or {},
    )
    metrics.audit_event(type=type, outcome=outcome, details=event.details)
    audit_log.info(
        json.dumps(
            {
                "event": type,
                "outcome": outcome,
                "at": event.created_at.isoformat(),
                "user": str(user.public_id) if user else None,
                "client": client.client_id if client else None,
                "target": event.target,
                "ip": caller.ip,
                "details": event.details,
            },
            default=str,
        )
    )
    return event


# --- Users and roles ----------------------------------------------------------------------------


def user_assign_default_role(*, user: User) -> None:
    role, _ = Group.objects.get_or_create(name=settings.DEFAULT_ROLE)
    user.groups.add(role)


def user_roles(*, user: User) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))


def user_active_changed(*, user: User, actor: User | None = None) -> None:
    """A deactivated user is refused everywhere at once: every session ends."""
    audit_record(
        type="user_activation_changed",
        user=actor,
        target=str(user.public_id),
        details={"is_active": user.is_active},
    )
    if not user.is_active:
        user_sessions_revoke_all(user=user, reason="user_deactivated", actor=actor)


def user_email_verified(*, user: User) -> bool:
    return EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists()


# --- Sessions and user tokens -------------------------------------------------------------------


def _new_jti() -> str:
    return uuid.uuid4().hex


def session_start(
    *, user: User, method: str, caller: Caller, client: ServiceClient | None = None
) -> dict:
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


def _session_tokens(*, session: AuthSession, user: User) -> dict:
    roles = user_roles(user=user)
    access = tokens.access_token_for_user(user=user, session=session, roles=roles)
    refresh = tokens.refresh_token_for_session(user=user, session=session)
    return tokens.token_response(access=access, refresh=refresh)


def password_login(
    *,
    request: HttpRequest,
    email: str,
    password: str,
    caller: Caller,
    client: ServiceClient | None = None,
) -> dict:
    """Email + password sign-in through allauth, so its failed-login limits apply here too."""
    # Failures and lockouts are audited by the account adapter, for web and API alike.
    adapter = get_adapter(request)
    try:
        user = adapter.authenticate(request, email=email, password=password)
    except ValidationError as exc:
        raise errors.rate_limited(settings.WARDEN_LOGIN_ATTEMPTS_TIMEOUT) from exc
    if user is None:
        raise errors.invalid_grant("Invalid email or password.")
    if not user.is_active:
        login_refused(user=user, caller=caller, reason="inactive")
        raise errors.invalid_grant("This account is inactive.")
    if settings.ACCOUNT_EMAIL_VERIFICATION == "mandatory" and not user_email_verified(user=user):
        login_refused(user=user, caller=caller, reason="email_not_verified")
        raise errors.AuthError(
            "invalid_grant",
            "The email address is not verified yet; follow the link we sent.",
            extra={"reason": "email_not_verified"},
        )
    # A second factor, or a role that requires one, stops here with mfa_required (and an
    # mfa_token for POST /api/auth/login/mfa) or mfa_setup_required.
    mfa.login_second_factor_gate(user=user, caller=caller, client=client)
    return session_start(user=user, method="password", caller=caller, client=client)


def login_refused(
    *,
    caller: Caller,
    reason: str,
    user: User | None = None,
    email: str = "",
    method: str = "password",
    client: ServiceClient | None = None,
) -> None:
    audit_record(
        type="login",
        caller=caller,
        outcome=AuditEvent.Outcome.FAILURE,
        user=user,
        client=client,
        target=email or (user.email if user else ""),
        details={"method": method, "reason": reason, "channel": caller.channel},
    )


def session_refresh(
    *, refresh_token: str, caller: Caller, client: ServiceClient | None = None
) -> dict:
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
        audit_record(
            type=event,
            caller=caller,
            outcome=AuditEvent.Outcome.FAILURE,
            user=session.user,
            client=client,
            target=str(sid),
        )

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


# --- Service clients ----------------------------------------------------------------------------


def service_client_create(*, name: str, scopes: list[str]) -> tuple[ServiceClient, str]:
    """Register a service; the secret is returned once and stored only as a keyed hash."""
    secret = tokens.new_secret()
    client = ServiceClient.objects.create(
        name=name,
        client_id=f"svc_{uuid.uuid4().hex[:24]}",
        secret_hash=tokens.secret_digest(secret),
        allowed_scopes=sorted(set(scopes)),
    )
    audit_record(type="client_created", client=client, target=client.client_id)
    return client, secret


def service_client_rotate_secret(*, client: ServiceClient, actor: User | None = None) -> str:
    secret = tokens.new_secret()
    client.secret_hash = tokens.secret_digest(secret)
    client.secret_rotated_at = timezone.now()
    client.save(update_fields=["secret_hash", "secret_rotated_at"])
    audit_record(type="client_secret_rotated", user=actor, client=client, target=client.client_id)
    return secret


def service_client_set_active(*, client: ServiceClient, active: bool) -> None:
    ServiceClient.objects.filter(pk=client.pk).update(is_active=active)
    client.is_active = active
    tokens.mark_client_state(client.client_id, live=active)


_DUMMY_DIGEST = "0" * 64


def service_client_authenticate(
    *, client_id: str, client_secret: str, caller: Caller
) -> ServiceClient:
    """Check a client's secret in constant time; failures are limited per IP.

    Only per IP: a per-client lockout would let anyone lock a service out by spamming wrong
    secrets, and a 256-bit generated secret cannot be guessed anyway.
    """
    limit, ip = ratelimit.client_auth_limit(), caller.ip or "unknown"
    exempt = ratelimit.exempt(caller.ip)
    if not exempt and (retry := ratelimit.blocked(limit, ip)):
        raise errors.rate_limited(retry)
    client = ServiceClient.objects.filter(client_id=client_id).first() if client_id else None
    # Compare even for an unknown client so timing does not reveal which client ids exist.
    ok = tokens.secret_matches(client_secret or "", client.secret_hash if client else _DUMMY_DIGEST)
    if client is None or not ok or not client.is_active:
        if not exempt:
            ratelimit.record_failure(limit, ip)
        audit_record(
            type="client_auth",
            caller=caller,
            outcome=AuditEvent.Outcome.FAILURE,
            client=client,
            target=(client_id or "")[:64],
        )
        raise errors.invalid_client()
    return client


def client_credentials_grant(*, client: ServiceClient, scope: str | None, caller: Caller) -> dict:
    requested = scope.split() if scope else list(client.allowed_scopes)
    if not set(requested) <= set(client.allowed_scopes):
        raise errors.AuthError("invalid_scope", "The client may not request that scope.")
    access = tokens.access_token_for_client(client=client, scopes=sorted(set(requested)))
    return tokens.token_response(access=access)


# --- Signing keys -------------------------------------------------------------------------------


def signing_key_rotate(*, algorithm: str | None = None, actor: User | None = None) -> SigningKey:
    """Make a new key the signer; the old one verifies until the longest token could live."""
    now = timezone.now()
    new_key = tokens.signing_key_generate(algorithm=algorithm or settings.WARDEN_SIGNING_ALGORITHM)
    with transaction.atomic():
        old = list(SigningKey.objects.select_for_update().filter(state=SigningKey.State.CURRENT))
        SigningKey.objects.filter(pk__in=[k.pk for k in old]).update(
            state=SigningKey.State.VERIFYING, retire_at=now + tokens.longest_token_lifetime()
        )
        new_key.state = SigningKey.State.CURRENT
        new_key.created_at = now
        new_key.save()
    tokens.keyring.invalidate()
    audit_record(
        type="signing_key_rotated",
        user=actor,
        target=new_key.kid,
        details={"algorithm": new_key.algorithm, "previous": [k.kid for k in old]},
    )
    return new_key


def purge_expired() -> dict[str, int]:
    """Delete what can no longer be used, so tables stay bounded."""
    now = timezone.now()
    keep_revoked = now - settings.WARDEN_REFRESH_TOKEN_LIFETIME
    counts = {
        "sessions": AuthSession.objects.filter(expires_at__lte=now).delete()[0]
        + AuthSession.objects.filter(
            state=AuthSession.State.REVOKED, revoked_at__lte=keep_revoked
        ).delete()[0],
        "consumed_tokens": ConsumedToken.objects.filter(expires_at__lte=now).delete()[0],
        "signing_keys": SigningKey.objects.filter(
            state=SigningKey.State.VERIFYING, retire_at__lte=now
        ).update(state=SigningKey.State.RETIRED),
    }
    tokens.keyring.invalidate()
    return counts


# --- Sign in with Google ------------------------------------------------------------------------
# One rule for the web redirect flow (allauth, via accounts.adapters) and POST /api/auth/google:
# a Google identity signs in to the account it is connected to; else to the account with the
# same email, connecting Google to it, only when Google verified that email (allauth's email
# authentication, see settings); else it creates an account from a Google-verified email.


def social_login_check(*, request: HttpRequest, sociallogin: SocialLogin) -> None:
    """Refuse a social sign-in that Warden's rule does not allow; raises AuthError."""
    if sociallogin.is_existing:
        if not sociallogin.user.is_active:
            raise errors.invalid_grant("This account is inactive.")
        return
    # Not connected, and no account matched a Google-verified email. The same words whether or
    # not some account has this email, so the answer reveals nothing about who has an account.
    if not any(address.verified for address in sociallogin.email_addresses):
        raise errors.AuthError(
            "invalid_grant",
            "Google has not verified the email address of this Google account, so Warden "
            "cannot sign you in with it. Verify the address with Google, or sign up with "
            "email and password.",
            extra={"reason": "email_not_verified"},
        )
    if not get_social_adapter(request).is_open_for_signup(request, sociallogin):
        raise errors.AuthError(
            "invalid_grant", "Sign-up is closed.", extra={"reason": "signup_closed"}
        )


def social_email_confirm(*, user: User, sociallogin: SocialLogin) -> None:
    """Mark the user's addresses that the provider verified as verified here too.

    Called once the social account is connected: by then allauth has wiped the password of an
    account whose address was unverified, so the verification cannot vouch for a squatter.
    """
    verified = [a.email for a in sociallogin.email_addresses if a.verified]
    for email in verified:
        EmailAddress.objects.filter(user=user, email__iexact=email, verified=False).update(
            verified=True
        )


def _google_token_consume(*, claims: dict, raw: str) -> None:
    """Record the token as spent until it expires; a second use is refused."""
    spent = google.id_token_identity(claims=claims, raw=raw)
    digest = hashlib.sha256(f"{claims['iss']}|{spent}".encode()).hexdigest()
    expires_at = datetime.fromtimestamp(claims["exp"], tz=UTC) + timedelta(
        seconds=settings.WARDEN_CLOCK_LEEWAY
    )
    try:
        with transaction.atomic():
            ConsumedToken.objects.create(
                jti=f"google:{digest}", kind="google_id_token", expires_at=expires_at
            )
    except IntegrityError as exc:
        raise errors.AuthError(
            "invalid_grant", "This Google ID token was already used.", extra={"reason": "replayed"}
        ) from exc


def google_login(*, request: HttpRequest, id_token: str, caller: Caller) -> dict:
    """Sign in with an ID token from Google's own SDK (apps, SPAs); answers like login."""
    if not allauth_ratelimit.consume(request, action="google_login"):
        login_refused(caller=caller, reason="rate_limited", method="google")
        raise errors.rate_limited(_google_rate_window())
    try:
        claims = google.id_token_claims(raw=id_token)
    except google.KeysUnavailable as exc:
        login_refused(caller=caller, reason="google_keys_unavailable", method="google")
        raise errors.AuthError(
            "temporarily_unavailable",
            "Google's signing keys cannot be fetched right now; try again shortly.",
            status=503,
            retry_after=30,
        ) from exc
    except google.IdTokenInvalid as exc:
        login_refused(caller=caller, reason="invalid_id_token", method="google")
        raise errors.invalid_grant(f"The Google ID token is {exc.reason}.") from exc
    provider = _google_provider(request)
    try:
        with transaction.atomic():
            _google_token_consume(claims=claims, raw=id_token)
            sociallogin = provider.sociallogin_from_response(request, claims)
            sociallogin.lookup()
            social_login_check(request=request, sociallogin=sociallogin)
            if sociallogin.is_existing:
                # What allauth's web flow does on sign-in: connect an account found by a
                # Google-verified email (wiping the password if that account's own address
                # was never verified).
                _google_race_safe(lambda: sociallogin._accept_login(request))
            else:
                _google_race_safe(
                    lambda: get_social_adapter(request).save_user(request, sociallogin)
                )
    except errors.AuthError as exc:
        login_refused(
            caller=caller,
            reason=exc.extra.get("reason", "refused"),
            email=claims.get("email", ""),
            method="google",
        )
        raise
    # As after a password: a second factor, or a role requiring one, stops here.
    mfa.login_second_factor_gate(user=sociallogin.user, caller=caller, client=None)
    return session_start(user=sociallogin.user, method="google", caller=caller)


def _google_race_safe(save) -> None:
    """Create or connect the account; losing a race with a parallel first sign-in is a 400."""
    try:
        with transaction.atomic():
            save()
    except IntegrityError as exc:
        # Two first sign-ins of one person raced; the other one created or connected it.
        raise errors.AuthError(
            "invalid_grant",
            "This account was created a moment ago by another sign-in; try again.",
            extra={"reason": "conflict"},
        ) from exc


def _google_provider(request: HttpRequest):
    try:
        return get_social_adapter(request).get_provider(request, "google")
    except SocialApp.DoesNotExist:
        # An API-only set-up (app and SPA client ids, no web client secret) has no configured
        # app, but allauth's provider is still what turns claims into a sign-in.
        return SocialApp(provider="google", client_id=settings.GOOGLE_CLIENT_IDS[0]).get_provider(
            request
        )


def _google_rate_window() -> int:
    rates = parse_rates(settings.ACCOUNT_RATE_LIMITS["google_login"])
    return int(max(rate.duration for rate in rates))
