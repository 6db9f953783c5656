"""Email + password sign-in: allauth checks the password, then a second factor or a session."""

from __future__ import annotations

from dataclasses import dataclass, field

from allauth.account.adapter import get_adapter
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpRequest

from accounts import errors, selectors, tokens
from accounts.audit import Caller, login_refused
from accounts.flows.mfa import DISPLAY_ORDER, MfaChallenge, login_second_factor_gate
from accounts.flows.sessions import session_start
from accounts.models import ServiceClient, User

LoginResult = tokens.Tokens | MfaChallenge


@dataclass(frozen=True)
class SignInFacts:
    """What the checks after a right password read about the user."""

    email_verified: bool  # the account's own address (user.email), as selectors reads it
    factor_types: list[str]  # as mfa.user_factor_types gives them
    requires_mfa: bool  # a role of the user's requires a second factor
    roles: list[str] = field(default_factory=list)  # as selectors.user_roles gives them


# The tables of EmailAddress, Authenticator, RolePolicy and User.groups; a test holds this
# query to the querysets it replaces (tests/accounts/test_login_facts.py).
FACTS_SQL = """SELECT 'factor', "type" FROM "mfa_authenticator" WHERE "user_id" = %s
UNION ALL
SELECT 'verified', '' FROM "account_emailaddress"
 WHERE "user_id" = %s AND UPPER("email") = UPPER(%s) AND "verified"
UNION ALL
SELECT 'requires_mfa', '' FROM "accounts_rolepolicy" AS p
 JOIN "accounts_user_groups" AS m ON m."group_id" = p."role_id"
 WHERE p."require_mfa" AND m."user_id" = %s
UNION ALL
SELECT 'role', g."name" FROM "auth_group" AS g
 JOIN "accounts_user_groups" AS m ON m."group_id" = g."id"
 WHERE m."user_id" = %s"""


def user_sign_in_facts(*, user: User) -> SignInFacts:
    """selectors.user_email_verified, mfa.user_factor_types, mfa.user_requires_mfa and
    selectors.user_roles in one query. Hand-written SQL: compiling the four querysets cost
    more CPU than running them."""
    with connection.cursor() as cursor:
        cursor.execute(FACTS_SQL, [user.pk, user.pk, user.email, user.pk, user.pk])
        rows = cursor.fetchall()
    present = {value for kind, value in rows if kind == "factor"}
    return SignInFacts(
        email_verified=any(kind == "verified" for kind, _ in rows),
        factor_types=[kind for kind in DISPLAY_ORDER if kind in present],
        requires_mfa=any(kind == "requires_mfa" for kind, _ in rows),
        roles=sorted(value for kind, value in rows if kind == "role"),
    )


def login_user_admissible(
    *, user: User, caller: Caller, method: str = "password", facts: SignInFacts | None = None
) -> None:
    """Refuse an authenticated user who may not sign in (inactive, email not verified)."""
    if not user.is_active:
        login_refused(user=user, caller=caller, reason="inactive", method=method)
        raise errors.invalid_grant("This account is inactive.")
    if settings.ACCOUNT_EMAIL_VERIFICATION != "mandatory":
        return
    if not (facts.email_verified if facts else selectors.user_email_verified(user=user)):
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
    facts: SignInFacts | None = None,
) -> LoginResult:
    """After a first factor: the second-factor challenge if one is due, else a session."""
    challenge = login_second_factor_gate(
        user=user,
        method=method,
        caller=caller,
        client=client,
        grant=grant,
        factor_types=facts.factor_types if facts else None,
        requires_mfa=facts.requires_mfa if facts else None,
    )
    if challenge is not None:
        return challenge
    return session_start(
        user=user,
        method=method,
        caller=caller,
        client=client,
        grant=grant,
        roles=facts.roles if facts else None,
    )


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
    facts = user_sign_in_facts(user=user) if user.is_active else None
    login_user_admissible(user=user, caller=caller, facts=facts)
    return login_complete(
        user=user, method="password", caller=caller, client=client, grant=grant, facts=facts
    )
