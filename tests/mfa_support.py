"""Helpers for second-factor tests: enrol factors through allauth and compute real codes."""

import time

from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from allauth.mfa.utils import decrypt
from django.conf import settings
from django.contrib.auth.models import Group

from accounts.models import RolePolicy


def enrol_totp(user) -> str:
    """Give `user` an authenticator app and recovery codes, as the web flow does; the secret."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    RecoveryCodes.activate(user)
    return secret


def totp_code(secret: str, *, step: int = 0) -> str:
    """The code an authenticator app shows now (or `step` periods away), from the secret."""
    period = getattr(settings, "MFA_TOTP_PERIOD", 30)
    # Too close to the period's end, the server could already be in the next one: wait it out.
    remaining = period - time.time() % period
    if step == 0 and remaining < 1.5:
        time.sleep(remaining + 0.05)
    return format_hotp_value(hotp_value(secret, int(time.time()) // period + step))


def recovery_codes(user) -> list[str]:
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
    return authenticator.wrap().get_unused_codes()


def stored_totp_secret(user) -> str:
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    return decrypt(authenticator.data["secret"])


def role_requiring_mfa(name: str = "operators") -> Group:
    role, _ = Group.objects.get_or_create(name=name)
    RolePolicy.objects.update_or_create(role=role, defaults={"require_mfa": True})
    return role
