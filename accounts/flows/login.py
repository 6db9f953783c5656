"""Email + password sign-in: allauth checks the password, then a second factor or a session."""

from __future__ import annotations

from allauth.account.adapter import get_adapter
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from accounts import errors, selectors, tokens
from accounts.audit import Caller, login_refused
from accounts.flows.mfa import MfaChallenge, login_second_factor_gate
from accounts.flows.sessions import session_start
from accounts.models import ServiceClient, User

LoginResult = tokens.Tokens | MfaChallenge


def login_user_admissible(*, user: User, caller: Caller, method: str = "password") -> None:
    """Refuse an authenticated user who may not sign in (inactive, email not verified)."""
    if not user.is_active:
        login_refused(user=user, caller=caller, reason="inactive", method=method)
        raise errors.invalid_grant("This account is inactive.")
    if settings.ACCOUNT_EMAIL_VERIFICATION == "mandatory" and not selectors.user_email_verified(
        user=user
    ):
        login_refused(user=user, caller=caller, reason="email_not_verified", method=method)
        raise errors.AuthError(
            "invalid_grant",
            "The email address is not verified yet; follow the link we sent.",
            extra={"reason": "email_not_verified"},
        )


def login_complete(
    *,
    user: User,
    method: str,
    caller: Caller,
    client: ServiceClient | None = None,
    grant: tokens.Grant | None = None,
) -> LoginResult:
    """After a first factor: the second-factor challenge if one is due, else a session."""
    challenge = login_second_factor_gate(
        user=user, method=method, caller=caller, client=client, grant=grant
    )
    if challenge is not None:
        return challenge
    return session_start(user=user, method=method, caller=caller, client=client, grant=grant)


def password_login(
    *,
    request: HttpRequest,
    email: str,
    password: str,
    caller: Caller,
    client: ServiceClient | None = None,
    grant: tokens.Grant | None = None,
) -> LoginResult:
    """Email + password sign-in through allauth, so its failed-login limits apply here too.
    `grant`: the audience and scopes asked for (checked before the password is)."""
    # Failures and lockouts are audited by the account adapter, for web and API alike.
    adapter = get_adapter(request)
    try:
        user = adapter.authenticate(request, email=email, password=password)
    except ValidationError as exc:
        raise errors.rate_limited(settings.WARDEN_LOGIN_ATTEMPTS_TIMEOUT) from exc
    if user is None:
        raise errors.invalid_grant("Invalid email or password.")
    login_user_admissible(user=user, caller=caller)
    return login_complete(user=user, method="password", caller=caller, client=client, grant=grant)
