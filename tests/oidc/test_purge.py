"""`manage.py purge_expired` also deletes the OpenID Provider's expired single-use records."""

import json
from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from oidc.models import AuthorizationCode, DeviceAuthorization, PushedRequest


def test_purge_deletes_expired_codes_device_codes_and_pushed_requests(user, web_app):
    client, _ = web_app
    now = timezone.now()
    for n, expires_at in enumerate([now - timedelta(seconds=1), now + timedelta(minutes=1)]):
        AuthorizationCode.objects.create(
            code_digest=f"{n}" * 64,
            client=client,
            user=user,
            redirect_uri="https://app.example.com/callback",
            scope="openid",
            auth_time=now,
            expires_at=expires_at,
        )
        DeviceAuthorization.objects.create(
            device_code_digest=f"{n}" * 64,
            user_code=f"ABCD-000{n}",
            client=client,
            scope="openid",
            expires_at=expires_at,
        )
        PushedRequest.objects.create(
            reference=f"ref-{n}", client=client, params={}, expires_at=expires_at
        )

    out = StringIO()
    call_command("purge_expired", stdout=out)

    counts = json.loads(out.getvalue())
    assert counts["authorization_codes"] == 1
    assert counts["device_codes"] == 1 and counts["pushed_requests"] == 1
    for model in (AuthorizationCode, DeviceAuthorization, PushedRequest):
        assert [row.expires_at > now for row in model.objects.all()] == [True], model
