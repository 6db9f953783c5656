"""The device authorization grant (RFC 8628): a CLI or TV shows a code, the user approves it
on Warden's page, the device polls the token endpoint."""

from __future__ import annotations

import secrets as random
from datetime import timedelta

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts import errors
from accounts.audit import Caller, audit_record
from accounts.flows.oidc.authorize import digest, web_authentication
from accounts.flows.oidc.clients import SCOPES
from accounts.flows.oidc.codes import oidc_client_of, oidc_session_open
from accounts.models import ServiceClient, User
from oidc.models import Consent, DeviceAuthorization

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
LIFETIME = timedelta(minutes=10)
INTERVAL = 5
_USER_CODE_CHARS = "BCDFGHJKLMNPQRSTVWXZ"  # no vowels (no words), no look-alikes (RFC 8628 §6.1)


def _user_code() -> str:
    letters = "".join(random.choice(_USER_CODE_CHARS) for _ in range(8))
    return f"{letters[:4]}-{letters[4:]}"


def user_code_normalize(value: str) -> str:
    letters = "".join(c for c in (value or "").upper() if c in _USER_CODE_CHARS)[:8]
    return f"{letters[:4]}-{letters[4:]}"


def device_authorization_start(*, client: ServiceClient, scope: str | None) -> dict:
    oidc = oidc_client_of(client)
    if DEVICE_GRANT not in oidc.grant_types:
        raise errors.AuthError("unauthorized_client", "This client may not use the device flow.")
    scopes = list(dict.fromkeys((scope or "openid").split()))
    if not set(scopes) <= set(client.allowed_scopes) & set(SCOPES):
        raise errors.AuthError("invalid_scope", "The client may not request that scope.")
    device_code = random.token_urlsafe(32)
    row = DeviceAuthorization.objects.create(
        device_code_digest=digest(device_code),
        user_code=_user_code(),
        client=client,
        scope=" ".join(scopes),
        interval=INTERVAL,
        expires_at=timezone.now() + LIFETIME,
    )
    return {"device_code": device_code, "user_code": row.user_code, "interval": INTERVAL}


def device_authorization_pending(*, user_code: str) -> DeviceAuthorization | None:
    return (
        DeviceAuthorization.objects.select_related("client__oidc")
        .filter(
            user_code=user_code_normalize(user_code),
            status=DeviceAuthorization.Status.PENDING,
            expires_at__gt=timezone.now(),
        )
        .first()
    )


def device_authorization_decide(
    *, request: HttpRequest, row: DeviceAuthorization, user: User, allow: bool
) -> None:
    """The user's answer on Warden's device page; allowing is consenting, too."""
    caller = Caller.of(request)
    with transaction.atomic():
        if not allow:
            DeviceAuthorization.objects.filter(pk=row.pk).update(
                status=DeviceAuthorization.Status.DENIED, user=user
            )
            return
        auth_time, amr = web_authentication(request=request, user=user)
        DeviceAuthorization.objects.filter(
            pk=row.pk, status=DeviceAuthorization.Status.PENDING
        ).update(
            status=DeviceAuthorization.Status.APPROVED, user=user, auth_time=auth_time, amr=amr
        )
        consent, _ = Consent.objects.get_or_create(user=user, client=row.client)
        consent.scopes = sorted(set(consent.scopes) | set(row.scope.split()))
        consent.save(update_fields=["scopes"])
        audit_record(
            type="oidc_device_approved",
            caller=caller,
            user=user,
            client=row.client,
            target=row.client.client_id,
        )


def device_code_exchange(*, device_code: str, client: ServiceClient, caller: Caller) -> dict:
    """Polling (RFC 8628 §3.4-3.5): authorization_pending until the user answers, slow_down
    (and a longer interval) for polling too fast; the tokens exactly once."""
    now = timezone.now()
    row = (
        DeviceAuthorization.objects.select_related("user")
        .filter(device_code_digest=digest(device_code), client=client)
        .first()
    )
    if row is None:
        raise errors.invalid_grant("The device code is invalid.")
    if row.expires_at <= now:
        raise errors.AuthError("expired_token", "The device code has expired; start again.")
    too_fast = row.last_polled_at and (now - row.last_polled_at).total_seconds() < row.interval
    interval = row.interval + 5 if too_fast else row.interval
    DeviceAuthorization.objects.filter(pk=row.pk).update(last_polled_at=now, interval=interval)
    if too_fast:
        raise errors.AuthError("slow_down", f"Poll at most every {interval} seconds.")
    if row.status == DeviceAuthorization.Status.PENDING:
        raise errors.AuthError("authorization_pending", "The user has not answered yet.")
    if row.status == DeviceAuthorization.Status.DENIED:
        raise errors.AuthError("access_denied", "The user refused.")
    with transaction.atomic():
        taken = DeviceAuthorization.objects.filter(
            pk=row.pk, status=DeviceAuthorization.Status.APPROVED
        ).update(status=DeviceAuthorization.Status.DONE)
        if not taken or not row.user.is_active:
            raise errors.invalid_grant("The device code was already used.")
        body, _ = oidc_session_open(
            user=row.user,
            client=client,
            scope=row.scope,
            auth_time=row.auth_time or now,
            amr=row.amr,
            browser_key="",
            caller=caller,
        )
    return body
