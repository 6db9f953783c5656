"""Sign in with Google: one rule for allauth's web flow and for POST /api/auth/google.

A Google identity signs in to the account it is connected to; else to the account with the same
email, connecting Google to it, only when Google verified that email (allauth's email
authentication, see settings); else it creates an account from a Google-verified email.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from allauth.account.models import EmailAddress
from allauth.core import ratelimit as allauth_ratelimit
from allauth.socialaccount.adapter import get_adapter as get_social_adapter
from allauth.socialaccount.models import SocialApp, SocialLogin
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest

from accounts import allauth_compat, errors
from accounts.audit import Caller, login_refused
from accounts.flows.login import LoginResult, login_complete
from accounts.models import ConsumedToken, User
from accounts.tokens import google


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


def google_login(*, request: HttpRequest, id_token: str, caller: Caller) -> LoginResult:
    """Sign in with an ID token from Google's own SDK (apps, SPAs); answers like login."""
    if not allauth_ratelimit.consume(request, action="google_login"):
        login_refused(caller=caller, reason="rate_limited", method="google")
        raise errors.rate_limited(
            allauth_compat.rate_window(settings.ACCOUNT_RATE_LIMITS["google_login"])
        )
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
                _google_race_safe(lambda: allauth_compat.social_login_accept(request, sociallogin))
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
    return login_complete(user=sociallogin.user, method="google", caller=caller)


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
