"""The one query a password sign-in reads its facts with answers as the three it replaced."""

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import Group

from accounts import selectors
from accounts.flows import mfa
from accounts.flows.login import SignInFacts, user_sign_in_facts
from accounts.models import RolePolicy
from tests.mfa_support import enrol_totp, role_requiring_mfa

pytestmark = pytest.mark.django_db


def separately(user) -> SignInFacts:
    return SignInFacts(
        email_verified=selectors.user_email_verified(user=user),
        factor_types=mfa.user_factor_types(user=user),
        requires_mfa=mfa.user_requires_mfa(user=user),
        roles=selectors.user_roles(user=user),
    )


def test_a_plain_verified_user(user):
    assert (
        user_sign_in_facts(user=user) == separately(user) == SignInFacts(True, [], False, ["user"])
    )


def test_an_unverified_address_or_only_another_verified_one(make_user):
    unverified = make_user("new@example.com", verified=False)
    assert user_sign_in_facts(user=unverified) == separately(unverified)
    assert not user_sign_in_facts(user=unverified).email_verified
    EmailAddress.objects.create(user=unverified, email="other@example.com", verified=True)
    assert user_sign_in_facts(user=unverified) == separately(unverified)
    assert not user_sign_in_facts(user=unverified).email_verified


def test_factors_in_display_order_and_a_role_requiring_mfa(user, make_user):
    enrol_totp(user)
    Authenticator.objects.create(user=user, type=Authenticator.Type.WEBAUTHN, data={})
    user.groups.add(role_requiring_mfa(), Group.objects.create(name="plain"))
    facts = user_sign_in_facts(user=user)
    assert facts == separately(user)
    assert facts.factor_types == ["totp", "webauthn", "recovery_codes"] and facts.requires_mfa
    other = make_user("bob@example.com")
    assert (
        user_sign_in_facts(user=other)
        == separately(other)
        == SignInFacts(True, [], False, ["user"])
    )


def test_a_role_whose_policy_does_not_require_mfa(user):
    role = Group.objects.create(name="relaxed")
    RolePolicy.objects.create(role=role, require_mfa=False)
    user.groups.add(role)
    assert user_sign_in_facts(user=user) == separately(user)
    assert not user_sign_in_facts(user=user).requires_mfa
