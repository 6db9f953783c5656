"""Every use of a private allauth name, in one place, each pinned by a test.

allauth keeps these under `internal` or behind an underscore, so a release may change them
without notice (`internal.ratelimit.consume` already changed its signature once). Each wrapper
here says what Warden needs of it; the pinning test fails the moment the pinned allauth stops
providing it, before any flow breaks in production.
"""

from __future__ import annotations

import contextlib
from typing import Any

from allauth.account.internal.flows.login import get_authentication_records
from allauth.core.internal import ratelimit as _ratelimit
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.models import SocialLogin
from django.http import HttpRequest

from accounts.outages import BACKEND_ERRORS


def social_login_accept(request: HttpRequest, sociallogin: SocialLogin) -> None:
    """What allauth's web flow does at sign-in: connect an account found by a verified email,
    wiping its password if that account's own address was never verified. The API's Google
    sign-in needs exactly that step, which allauth does not expose."""
    sociallogin._accept_login(request)


def web_second_factors(request: HttpRequest, user) -> list[str]:
    """The second factors given at this web sign-in ("totp", "webauthn"), oldest first."""
    return [
        record.get("type")
        for record in get_authentication_records(request, user)
        if record.get("method") == "mfa" and not record.get("reauthenticated")
    ]


def rate_window(rates: str) -> int:
    """The longest window, in seconds, of an allauth rate string such as "10/m/ip"."""
    return int(max(rate.duration for rate in _ratelimit.parse_rates(rates)))


def login_failed_consume(request: HttpRequest, *, key: str):
    """Spend one attempt of allauth's "login_failed" budget under `key` (the MFA form's keys),
    so the API's second step and the web form share one limit. Falsy when used up; the
    result's `rollback()` gives the attempt back."""
    return _ratelimit.consume(request, app="allauth.account", action="login_failed", key=key)


def google_key(keys: dict, kid: str) -> Any:
    """The public key `kid` names in Google's certs: a JWKS (v3) or {kid: PEM} (v1)."""
    if "keys" in keys:
        return jwtkit.lookup_kid_jwk(keys, kid)
    return jwtkit.lookup_kid_pem_x509_certificate(keys, kid)


class LoginAttemptsMixin:
    """Two changes to allauth's failed-login budget, through the account adapter's privates.

    The key: allauth keys the budget by site domain, which without contrib.sites is the Host
    header, port included: instances reached under different host names, or a client varying
    the port, would each get a fresh budget. One account, one budget.

    The refund: allauth spends a slot (per account and per IP) in `pre_authenticate`, before
    the password check, and gives it back only when the password was right. If the check
    cannot run at all because the database (or Redis) is away, the attempt never happened:
    give the slot back too, then let the error answer 503 (api.unavailable).
    """

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        login = credentials.get("email", credentials.get("username", ""))
        return f"account:{str(login).lower()}"

    def authenticate(self, request, **credentials):
        self._login_failed_rl_usage = None
        try:
            return super().authenticate(request, **credentials)
        except BACKEND_ERRORS:
            with contextlib.suppress(*BACKEND_ERRORS):  # the cache may be the one away
                self._rollback_login_failed_rl_usage()
            raise


def web_authentication_records(request: HttpRequest, user) -> list[dict]:
    """allauth's log of this web session's authentications: `method` ("password",
    "socialaccount", "mfa" with `type`), `at` (epoch seconds), `reauthenticated`."""
    return list(get_authentication_records(request, user))
