"""The OpenID Provider's share of `manage.py purge_expired` (accounts/flows/keys.py)."""

from __future__ import annotations

from datetime import datetime

from oidc.models import AuthorizationCode, DeviceAuthorization, PushedRequest


def oidc_records_purge(*, now: datetime) -> dict[str, int]:
    """Delete expired authorization codes, device codes and pushed requests. A spent code is
    kept until it expires and the next purge after that: until then, presenting it again still
    revokes the session it opened."""
    return {
        "authorization_codes": AuthorizationCode.objects.filter(expires_at__lte=now).delete()[0],
        "device_codes": DeviceAuthorization.objects.filter(expires_at__lte=now).delete()[0],
        "pushed_requests": PushedRequest.objects.filter(expires_at__lte=now).delete()[0],
    }
