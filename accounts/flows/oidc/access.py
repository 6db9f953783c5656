"""The apps a user has let in, as the account page lists them, and taking access back."""

from __future__ import annotations

from django.db import transaction

from accounts.audit import Caller, audit_record
from accounts.flows.oidc.logout import client_sessions_end
from accounts.models import AuthSession, ServiceClient, User
from oidc.models import Consent


def user_apps(*, user: User) -> list[dict]:
    """Apps with a consent or a live session: client, scopes, when allowed, live sessions."""
    apps: dict[int, dict] = {}
    for consent in Consent.objects.filter(user=user).select_related("client"):
        apps[consent.client_id] = {
            "client": consent.client,
            "scopes": consent.scopes,
            "granted_at": consent.granted_at,
            "sessions": 0,
        }
    live = AuthSession.objects.filter(
        user=user, state=AuthSession.State.ACTIVE, oidc__isnull=False
    ).select_related("client", "oidc")
    for session in live:
        entry = apps.setdefault(
            session.client_id,
            {"client": session.client, "scopes": [], "granted_at": None, "sessions": 0},
        )
        entry["sessions"] += 1
        entry["scopes"] = entry["scopes"] or session.oidc.scope.split()
    return sorted(apps.values(), key=lambda app: app["client"].name.lower())


def user_app_revoke(*, user: User, client_id: str, caller: Caller) -> bool:
    """Remove an app's access: its consent goes, and its sessions end at once (so its
    access tokens fail verify and its refresh tokens are refused)."""
    client = ServiceClient.objects.filter(client_id=client_id).first()
    if client is None:
        return False
    with transaction.atomic():
        removed, _ = Consent.objects.filter(user=user, client=client).delete()
        ended = client_sessions_end(user=user, client_pk=client.pk, caller=caller)
        audit_record(
            type="oidc_access_removed",
            caller=caller,
            user=user,
            client=client,
            target=client.client_id,
            details={"sessions": ended},
        )
    return bool(removed or ended)
