"""Every revocation becomes a Security Event for each receiver, in the revoking transaction."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from accounts.audit import Caller
from accounts.flows.clients import service_client_create, service_client_set_active
from accounts.flows.keys import purge_expired, signing_key_rotate
from accounts.flows.sessions import session_revoke, token_revoke
from accounts.flows.users import user_active_changed
from accounts.models import AuthSession, EventDelivery, SecurityEvent, ServiceClient, SigningKey
from accounts.tokens import AccessToken, secevent
from tests.events.conftest import decode_set

CAEP = "https://schemas.openid.net/secevent/caep/event-type/"
RISC = "https://schemas.openid.net/secevent/risc/event-type/"


def _events() -> list[tuple[str, str]]:
    return [(e.event_type, e.subject["id"]) for e in SecurityEvent.objects.order_by("id")]


def test_logout_is_a_session_revoked_event_about_the_sid(api, user, login, receiver, poll):
    pair = login()
    sid = str(AuthSession.objects.get().pk)
    assert (
        api.post(
            "/api/auth/logout", {"refresh_token": pair["refresh_token"]}, format="json"
        ).status_code
        == 204
    )
    answer = poll()
    assert answer["moreAvailable"] is False
    [(jti, token)] = answer["sets"].items()
    claims = decode_set(token, audience=receiver[0].client_id)
    assert claims["jti"] == jti
    assert claims["sub_id"] == {"format": "opaque", "id": sid}
    event = claims["events"][CAEP + "session-revoked"]
    assert event["initiating_entity"] == "user"
    assert event["reason_admin"] == {"en": "logout"}


def test_deactivating_a_user_ends_sessions_and_disables_the_account(user, login, receiver):
    login(), login()
    sids = {str(s.pk) for s in AuthSession.objects.all()}
    user.is_active = False
    user.save()
    found = _events()
    assert (RISC + "account-disabled", str(user.public_id)) in found
    assert {s for t, s in found if t == CAEP + "session-revoked"} == sids


def test_a_password_change_is_a_credential_change(user, login, receiver):
    login()
    user.set_password("a-brand-new-password-7")
    user.save()
    event = SecurityEvent.objects.get(event_type=CAEP + "credential-change")
    assert event.subject == {"format": "opaque", "id": str(user.public_id)}
    assert event.payload["credential_type"] == "password"
    assert [t for t, _ in _events()].count(CAEP + "session-revoked") == 1


def test_refresh_reuse_is_a_session_revoked_event_by_policy(api, user, login, receiver):
    pair = login()
    first = api.post(
        "/api/auth/refresh", {"refresh_token": pair["refresh_token"]}, format="json"
    ).json()
    api.post("/api/auth/refresh", {"refresh_token": first["refresh_token"]}, format="json")
    EventDelivery.objects.all().delete()
    AuthSession.objects.update(rotated_at=timezone.now() - timedelta(minutes=5))
    assert (
        api.post(
            "/api/auth/refresh", {"refresh_token": pair["refresh_token"]}, format="json"
        ).status_code
        == 400
    )
    event = SecurityEvent.objects.get()
    assert event.payload["initiating_entity"] == "policy"
    assert event.payload["reason_admin"] == {"en": "refresh_reuse"}


def test_a_revoked_access_token_is_a_warden_token_revoked_event(user, login, receiver):
    access = login()["access_token"]
    claims = AccessToken.parse(access).payload
    assert token_revoke(token=access, caller=Caller(ip="127.0.0.1", user_agent="t")) is True
    event = SecurityEvent.objects.get()
    assert event.event_type == secevent.TOKEN_REVOKED == "urn:warden:secevent:token-revoked"
    assert event.subject == {"format": "opaque", "id": claims["jti"]}
    assert event.payload["exp"] == claims["exp"]


def test_a_deactivated_service_client_is_an_account_disabled_event(service_client, receiver):
    client, _ = service_client
    service_client_set_active(client=client, active=False)
    assert _events() == [(RISC + "account-disabled", client.client_id)]


def test_a_retired_signing_key_is_an_event_and_old_events_are_purged(db, receiver):
    old = signing_key_rotate()
    signing_key_rotate()
    SigningKey.objects.filter(kid=old.kid).update(retire_at=timezone.now() - timedelta(seconds=1))
    SecurityEvent.objects.create(
        created_at=timezone.now() - timedelta(hours=2), event_type="x", subject={}
    )
    counts = purge_expired()
    assert counts["signing_keys"] == 1 and counts["security_events"] == 1
    assert _events() == [(secevent.SIGNING_KEY_RETIRED, old.kid)]


def test_an_event_is_lost_with_its_revocation_not_without_it(user, login, receiver):
    login()
    session = AuthSession.objects.get()
    with pytest.raises(RuntimeError), transaction.atomic():
        session_revoke(session=session, reason="admin")
        raise RuntimeError("the process dies before the commit")
    assert SecurityEvent.objects.count() == 0
    assert AuthSession.objects.get().state == AuthSession.State.ACTIVE
    session_revoke(session=session, reason="admin")
    assert SecurityEvent.objects.count() == 1


def test_events_fan_out_to_receivers_registered_at_the_time(user, login, receiver):
    login()
    user_active_changed(user=user)  # active: nothing happens
    assert SecurityEvent.objects.count() == 0
    session_revoke(session=AuthSession.objects.get(), reason="admin")
    later, _ = service_client_create(name="later", scopes=["ssf:poll"])
    service_client_create(name="no-feed", scopes=["inventory:read"])
    assert list(EventDelivery.objects.values_list("receiver__name", flat=True)) == ["feed"]
    assert not EventDelivery.objects.filter(receiver=later).exists()


def test_create_service_client_takes_a_push_url_https_or_loopback_only(db, capsys):
    args = ("--scope", "ssf:poll", "--push-url")
    call_command("create_service_client", "a", *args, "http://127.0.0.1:9/events")
    call_command("create_service_client", "b", *args, "https://rp.example.com/events")
    with pytest.raises(CommandError, match="https"):
        call_command("create_service_client", "c", *args, "http://rp.example.com/events")
    assert dict(ServiceClient.objects.values_list("name", "push_url")) == {
        "a": "http://127.0.0.1:9/events",
        "b": "https://rp.example.com/events",
    }
