"""Each private allauth name Warden uses (accounts/allauth_compat.py) still does what it needs."""

import inspect

import jwt
import pytest
from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.internal import ratelimit as _ratelimit
from allauth.socialaccount.models import SocialLogin
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.sessions.backends.cache import SessionStore
from django.test import RequestFactory

from accounts import allauth_compat
from accounts.adapters import AccountAdapter


def _request():
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="203.0.113.9")
    request.session = SessionStore()
    return request


def test_social_login_still_has_its_accept_step_taking_the_request():
    assert list(inspect.signature(SocialLogin._accept_login).parameters) == ["self", "request"]


@pytest.mark.django_db
def test_web_second_factors_reads_allauths_authentication_records(user):
    from allauth.account.internal.flows.login import record_authentication

    request = _request()
    request.user = user
    record_authentication(request, user, method="password", email=user.email)
    record_authentication(request, user, method="mfa", type="totp")
    assert allauth_compat.web_second_factors(request, user) == ["totp"]


def test_rate_window_parses_allauths_rate_strings():
    assert allauth_compat.rate_window("10/m/ip") == 60
    assert allauth_compat.rate_window("5/5m/ip,20/h/key") == 3600


@pytest.mark.django_db
def test_login_failed_consume_spends_allauths_budget_and_gives_it_back(settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "2/m/key"}
    request = _request()
    first = allauth_compat.login_failed_consume(request, key="pin-test")
    assert first
    first.rollback()
    assert allauth_compat.login_failed_consume(request, key="pin-test")
    assert allauth_compat.login_failed_consume(request, key="pin-test")
    assert not allauth_compat.login_failed_consume(request, key="pin-test")


def test_google_key_finds_a_kid_in_a_jwks():
    public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    jwk = {**jwt.algorithms.RSAAlgorithm.to_jwk(public, as_dict=True), "kid": "k1"}
    assert allauth_compat.google_key({"keys": [jwk]}, "k1") is not None
    assert allauth_compat.google_key({"keys": [jwk]}, "k2") is None


def test_allauth_still_keys_its_login_budget_by_the_method_warden_overrides():
    # If allauth renamed the hook, Warden's override would silently stop applying.
    assert "_get_login_attempts_cache_key" in inspect.getsource(
        DefaultAccountAdapter.pre_authenticate
    )
    key = AccountAdapter()._get_login_attempts_cache_key(_request(), email="Ann@Example.com")
    assert key == "account:ann@example.com"


def test_allauth_still_reserves_before_the_backend_and_gives_back_after_a_success():
    # Warden's limiter (LoginAttemptsMixin) replaces these two hooks; if allauth stopped
    # calling them around the password check, the budget would silently stop applying.
    source = inspect.getsource(DefaultAccountAdapter.authenticate)
    reserve, check = source.index("self.pre_authenticate("), source.index("authenticate(request")
    refund = source.index("self._rollback_login_failed_rl_usage()")
    assert reserve < check < refund
    assert "self.authentication_failed(" in source


def test_allauth_rates_and_ip_networks_are_still_read_as_warden_reads_them(settings):
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "7/m/ip,3/120s/key"}
    rates = _ratelimit.get_rates(app="allauth.account", action="login_failed")
    assert [(r.amount, r.duration, r.per) for r in rates] == [(7, 60, "ip"), (3, 120, "key")]
    request = RequestFactory().post("/", REMOTE_ADDR="2001:db8::1")
    assert _ratelimit.get_ip(request) == "2001:db8::"


@pytest.mark.django_db
def test_web_authentication_records_carry_method_type_and_time(user):
    from allauth.account.internal.flows.login import record_authentication

    request = _request()
    record_authentication(request, user, method="password", email=user.email)
    record_authentication(request, user, method="mfa", type="totp")
    records = allauth_compat.web_authentication_records(request, user)
    assert [(r["method"], r.get("type")) for r in records] == [("password", None), ("mfa", "totp")]
    assert all(isinstance(r["at"], int | float) for r in records)
