"""The audit trail: each event once, never a secret, also as JSON lines on stdout."""

import base64
import json
import logging

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from accounts.flows.clients import service_client_create, service_client_rotate_secret
from accounts.models import AuditEvent, User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def types() -> list[str]:
    return list(AuditEvent.objects.order_by("created_at", "pk").values_list("type", "outcome"))


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def audit_log():
    handler = Lines()
    logger = logging.getLogger("warden.audit")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def test_each_authentication_event_is_recorded_once_without_secrets(
    api, client, user, audit_log, settings
):
    settings.WARDEN_REFRESH_REUSE_GRACE = 0
    secrets = [PASSWORD, "wrong-password-1"]

    assert (
        api.post(
            "/api/auth/login", {"email": user.email, "password": "wrong-password-1"}, format="json"
        ).status_code
        == 400
    )
    pair = api.post(
        "/api/auth/login", {"email": user.email, "password": PASSWORD}, format="json"
    ).json()
    new = api.post(
        "/api/auth/refresh", {"refresh_token": pair["refresh_token"]}, format="json"
    ).json()
    api.post("/api/auth/refresh", {"refresh_token": pair["refresh_token"]}, format="json")  # replay
    second = api.post(
        "/api/auth/login", {"email": user.email, "password": PASSWORD}, format="json"
    ).json()
    api.post("/api/auth/logout", {"refresh_token": second["refresh_token"]}, format="json")
    secrets += [
        pair["access_token"],
        pair["refresh_token"],
        new["access_token"],
        new["refresh_token"],
    ]
    secrets += [second["access_token"], second["refresh_token"]]

    svc, svc_secret = service_client_create(name="orders", scopes=["a"])
    rotated = service_client_rotate_secret(client=svc)
    auth = base64.b64encode(f"{svc.client_id}:{svc_secret}".encode()).decode()
    api.post(
        "/api/auth/token",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Basic {auth}",
    )  # old secret: refused
    secrets += [svc_secret, rotated]
    call_command("rotate_signing_key")

    user.groups.add(Group.objects.get(name="admin"))
    user.is_active = False
    user.save()

    events = types()
    expected_once = [
        ("login", "failure"),
        ("refresh", "success"),
        ("refresh_reuse_detected", "failure"),
        ("logout", "success"),
        ("client_created", "success"),
        ("client_secret_rotated", "success"),
        ("client_auth", "failure"),
        ("signing_key_rotated", "success"),
        ("user_activation_changed", "success"),
    ]
    for event in expected_once:
        assert events.count(event) == 1, (event, events)
    assert events.count(("login", "success")) == 2
    assert ("role_changed", "success") in events
    assert events.count(("session_revoked", "success")) == 2  # reuse, logout

    stored = json.dumps(
        list(AuditEvent.objects.values("type", "target", "user_agent", "details")), default=str
    )
    logged = "\n".join(audit_log.lines)
    for secret in secrets:
        assert secret not in stored and secret not in logged
    lines = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    assert {line["event"] for line in lines} >= {
        "login",
        "refresh",
        "logout",
        "refresh_reuse_detected",
    }


def test_web_sign_in_password_change_and_reset_are_audited(client, user):
    client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    client.post(
        "/accounts/password/change/",
        {
            "oldpassword": PASSWORD,
            "password1": "another-long-pass-42",
            "password2": "another-long-pass-42",
        },
    )
    recorded = types()
    assert ("login", "success") in recorded and ("password_changed", "success") in recorded
    login = AuditEvent.objects.get(type="login")
    assert login.details == {"method": "password", "channel": "web"} and login.actor_user == user


def test_role_changes_made_in_the_admin_name_the_admin(client, make_user):
    root = make_user("root@example.com", is_staff=True, is_superuser=True)
    target = make_user("bob@example.com")
    client.force_login(root)
    admin_role, user_role = Group.objects.get(name="admin"), Group.objects.get(name="user")
    response = client.post(
        f"/admin/accounts/user/{target.pk}/change/",
        {
            "email": target.email,
            "first_name": "",
            "last_name": "",
            "is_active": "on",
            "groups": [admin_role.pk, user_role.pk],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 302, response.content[:3000]
    change = (
        AuditEvent.objects.filter(type="role_changed", target=str(target.public_id))
        .order_by("pk")
        .last()
    )
    assert change.actor_user == root and change.details == {"action": "add", "roles": ["admin"]}
    assert User.objects.get(pk=target.pk).role_names == ["admin", "user"]


def test_audit_events_cannot_be_edited():
    event = AuditEvent.objects.create(type="x")
    event.type = "y"
    with pytest.raises(ValueError, match="append-only"):
        event.save()


def test_an_audit_event_is_stored_exactly_as_recorded_and_stays_append_only(user):
    from accounts.audit import Caller, audit_record

    caller = Caller(ip="2001:db8::1", user_agent="agent/" + "x" * 600)
    details = {"reason": 'é "quoted"', "roles": ["a", "b"], "n": 3}
    event = audit_record(type="probe", caller=caller, user=user, target="t" * 300, details=details)
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.type, stored.outcome, stored.actor_user, stored.actor_client) == (
        "probe",
        "success",
        user,
        None,
    )
    assert (stored.target, stored.ip, stored.details) == ("t" * 255, "2001:db8::1", details)
    assert stored.user_agent == caller.user_agent[:512] and stored.created_at == event.created_at
    with pytest.raises(ValueError, match="append-only"):
        event.save()


def test_a_receiver_of_audit_event_saves_still_hears_every_event(user):
    from django.db.models.signals import post_save

    from accounts.audit import audit_record

    heard = []

    def receiver(sender, instance, created, **kwargs):
        heard.append((instance.type, created))

    post_save.connect(receiver, sender=AuditEvent)
    try:
        audit_record(type="probe", user=user)
    finally:
        post_save.disconnect(receiver, sender=AuditEvent)
    assert heard == [("probe", True)]
    assert AuditEvent.objects.filter(type="probe").count() == 1
