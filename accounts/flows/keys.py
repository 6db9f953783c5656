"""Signing-key rotation, and the purge that keeps tables bounded."""

from __future__ import annotations

from datetime import timedelta

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import tokens
from accounts.audit import audit_record
from accounts.events import outbox as events
from accounts.flows.mfa import SEAL_PURPOSE as MFA_SEAL_PURPOSE
from accounts.flows.oidc.purge import oidc_records_purge
from accounts.models import AuthSession, ConsumedToken, SigningKey, User
from accounts.tokens.keyring import SEAL_PURPOSE as KEY_SEAL_PURPOSE

_ROTATION_TRIES = 5


def signing_key_rotate(*, algorithm: str | None = None, actor: User | None = None) -> SigningKey:
    """Make a new key the signer; the old one verifies until the longest token could live."""
    new_key = tokens.signing_key_generate(algorithm=algorithm or settings.WARDEN_SIGNING_ALGORITHM)
    for _ in range(_ROTATION_TRIES):
        now = timezone.now()
        try:
            with transaction.atomic():
                old = list(
                    SigningKey.objects.select_for_update().filter(state=SigningKey.State.CURRENT)
                )
                SigningKey.objects.filter(pk__in=[k.pk for k in old]).update(
                    state=SigningKey.State.VERIFYING,
                    retire_at=now + tokens.longest_token_lifetime(),
                )
                new_key.state = SigningKey.State.CURRENT
                new_key.created_at = now
                new_key.save()
            break
        except IntegrityError:
            # A rotation elsewhere committed its key between our lock and our insert (the
            # one-current-key constraint refused ours): demote that one in turn.
            new_key.pk = None
    else:
        raise RuntimeError("signing-key rotation kept colliding with concurrent rotations")
    tokens.keyring.invalidate()
    audit_record(
        type="signing_key_rotated",
        user=actor,
        target=new_key.kid,
        details={"algorithm": new_key.algorithm, "previous": [k.kid for k in old]},
    )
    return new_key


def signing_key_rotate_if_older(
    *, age: timedelta, algorithm: str | None = None
) -> tuple[SigningKey, bool]:
    """Rotate when the current key is `age` old or more (a timer on every host may call this
    at once); returns the current key and whether this call made it."""
    # Deciding under the current key's row lock makes concurrent callers wait, then see the
    # new key as young and leave it.
    with transaction.atomic():
        list(SigningKey.objects.select_for_update().filter(state=SigningKey.State.CURRENT))
        # Read again: after waiting for another host, the rows locked above may be old news.
        key = SigningKey.objects.filter(state=SigningKey.State.CURRENT).first()
        if key is not None and key.created_at > timezone.now() - age:
            return key, False
        return signing_key_rotate(algorithm=algorithm), True


def secrets_reseal() -> dict[str, int]:
    """Seal every secret at rest again under the newest key-encryption key: the private
    signing keys and allauth's MFA secrets (TOTP secrets, recovery-code seeds)."""
    resealed = {"signing_keys": 0, "mfa_secrets": 0}
    with transaction.atomic():
        for key in SigningKey.objects.select_for_update().exclude(state=SigningKey.State.RETIRED):
            key.private_key_encrypted = tokens.secrets.reseal(
                key.private_key_encrypted, purpose=KEY_SEAL_PURPOSE
            )
            key.save(update_fields=["private_key_encrypted"])
            resealed["signing_keys"] += 1
        for authenticator in Authenticator.objects.select_for_update():
            data = dict(authenticator.data)
            sealed = [field for field in ("secret", "seed") if isinstance(data.get(field), str)]
            for field in sealed:
                data[field] = tokens.secrets.reseal(data[field], purpose=MFA_SEAL_PURPOSE)
            if sealed:
                Authenticator.objects.filter(pk=authenticator.pk).update(data=data)
                resealed["mfa_secrets"] += len(sealed)
    tokens.keyring.invalidate()
    audit_record(type="key_encryption_key_rotated", details=resealed)
    return resealed


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
        "signing_keys": events.signing_keys_retire(now=now),
        "security_events": events.events_purge(now=now),
        **oidc_records_purge(now=now),
    }
    tokens.keyring.invalidate()
    return counts
