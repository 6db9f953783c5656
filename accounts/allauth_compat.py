"""Every use of a private allauth name, in one place, each pinned by a test.

allauth keeps these under `internal` or behind an underscore, so a release may change them
without notice (`internal.ratelimit.consume` already changed its signature once). Each wrapper
here says what Warden needs of it; the pinning test fails the moment the pinned allauth stops
providing it, before any flow breaks in production.
"""

from __future__ import annotations

import contextlib
import hashlib
from typing import Any

from allauth.account.internal.flows.login import get_authentication_records
from allauth.core.internal import ratelimit as _ratelimit
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.models import SocialLogin
from django.http import HttpRequest

from accounts import ratelimit
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


def login_failed_windows(request: HttpRequest, *, key: str) -> list[ratelimit.Window]:
    """allauth's "login_failed" rates (ACCOUNT_RATE_LIMITS) as Warden's sliding windows: per
    IP as allauth counts IPs (IPv6 by its RATE_LIMIT_IPV6_PREFIX network), per `key` hashed."""
    windows = []
    for rate in _ratelimit.get_rates(app="allauth.account", action="login_failed"):
        if rate.per == "ip":
            source = f"ip:{_ratelimit.get_ip(request)}"
        elif rate.per == "key":
            source = hashlib.sha256(key.encode()).hexdigest()
        else:  # "user": a sign-in has no user yet; allauth would refuse the setting too
            raise ValueError(f"login_failed rate per {rate.per!r} is not supported")
        windows.append(
            ratelimit.Window(f"rl:login_failed:{rate}:{source}", rate.amount, rate.duration)
        )
    return windows


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
    """Warden's own failed-login budget behind allauth's account adapter hooks.

    The limiter: allauth's rates ("login_failed": per IP and per account), spent before the
    password check and given back when the password was right, as allauth does, but in one
    atomic Redis call (accounts.ratelimit.attempt_reserve) instead of a cache lock, a read and
    a write per rate, twice on every success: 2 round trips per sign-in instead of 16. Two
    differences: an attempt refused by one budget spends nothing from the other (allauth spent
    the IP's), and wrong second-factor codes keep allauth's own limiter (its web form spends
    it directly), so per IP they are counted apart from wrong passwords, at the same rate.

    The key: allauth keys the budget by site domain, which without contrib.sites is the Host
    header, port included: instances reached under different host names, or a client varying
    the port, would each get a fresh budget. One account, one budget.

    The refund: if the check cannot run at all because the database (or Redis) is away, the
    attempt never happened: give the slot back too, then let the error answer 503
    (api.unavailable).
    """

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        login = credentials.get("email", credentials.get("username", ""))
        return f"account:{str(login).lower()}"

    def pre_authenticate(self, request, **credentials) -> None:
        key = self._get_login_attempts_cache_key(request, **credentials)
        reserved = ratelimit.attempt_reserve(login_failed_windows(request, key=key))
        if isinstance(reserved, int):
            raise self.validation_error("too_many_login_attempts")
        self._login_failed_rl_usage = reserved

    def _rollback_login_failed_rl_usage(self) -> None:
        # allauth calls this after a right password (DefaultAccountAdapter.authenticate).
        reserved, self._login_failed_rl_usage = self._login_failed_rl_usage, None
        if reserved is not None:
            reserved.refund()

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
