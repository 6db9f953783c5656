"""One-time refresh with reuse detection, session lifetime, and purging."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import AuditEvent, AuthSession
from tests.helpers import claims_of

pytestmark = pytest.mark.django_db


def refresh(api, token):
    return api.post("/api/auth/refresh", {"refresh_token": token}, format="json")


def verify(api, token):
    return api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_refresh_returns_a_new_pair_in_the_same_session(api, user, login):
    first = login()
    second = refresh(api, first["refresh_token"])
    assert second.status_code == 200 and second["Cache-Control"] == "no-store"
    pair = second.json()
    assert pair["refresh_token"] != first["refresh_token"]
    assert claims_of(pair["access_token"])["sid"] == claims_of(first["access_token"])["sid"]
    assert verify(api, pair["access_token"]).status_code == 200


def test_replayed_refresh_token_revokes_the_session_and_every_descendant(
    api, user, login, settings
):
    settings.WARDEN_REFRESH_REUSE_GRACE = 0
    first = login()
    second = refresh(api, first["refresh_token"]).json()
    replay = refresh(api, first["refresh_token"])
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert "revoked" in replay.json()["error_description"]
    assert verify(api, second["access_token"]).status_code == 401
    assert refresh(api, second["refresh_token"]).status_code == 400
    session = AuthSession.objects.get()
    assert session.state == AuthSession.State.REVOKED and session.revoke_reason == "refresh_reuse"
    assert AuditEvent.objects.filter(type="refresh_reuse_detected").count() == 1


def test_a_retry_after_a_lost_answer_gets_the_same_successor_and_keeps_the_session(
    api, user, login
):
    first = login()
    lost = refresh(api, first["refresh_token"]).json()  # the phone never saw this answer
    retry = refresh(api, first["refresh_token"])
    assert retry.status_code == 200
    again = retry.json()
    assert again["refresh_token"] == lost["refresh_token"]
    assert claims_of(again["access_token"])["sid"] == claims_of(lost["access_token"])["sid"]
    assert verify(api, again["access_token"]).status_code == 200
    assert verify(api, lost["access_token"]).status_code == 200
    assert refresh(api, again["refresh_token"]).status_code == 200, "the session goes on"


def test_a_thief_who_refreshed_first_is_caught_when_either_holder_rotates_again(api, user, login):
    stolen = login()["refresh_token"]
    thief = refresh(api, stolen).json()
    owner = refresh(api, stolen).json()  # the owner repeats inside the grace window
    assert owner["refresh_token"] == thief["refresh_token"], "both hold the one successor"
    assert refresh(api, thief["refresh_token"]).status_code == 200  # the thief rotates on
    AuthSession.objects.update(rotated_at=timezone.now() - timedelta(minutes=1))
    caught = refresh(api, owner["refresh_token"])  # the owner's next use: a reuse
    assert caught.status_code == 400 and "revoked" in caught.json()["error_description"]
    assert AuthSession.objects.get().state == AuthSession.State.REVOKED
    assert verify(api, thief["access_token"]).status_code == 401


def test_a_made_up_refresh_token_for_a_real_session_does_not_end_it(api, user, login):
    pair = login()
    sid = claims_of(pair["access_token"])["sid"]
    forged = f"wrt_{sid.replace('-', '')}.{'A' * 43}"
    response = refresh(api, forged)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert AuthSession.objects.get().state == AuthSession.State.ACTIVE
    assert refresh(api, pair["refresh_token"]).status_code == 200


def test_an_older_generation_is_reuse_even_inside_the_grace_window(api, user, login):
    first = login()
    second = refresh(api, first["refresh_token"]).json()
    third = refresh(api, second["refresh_token"]).json()
    assert refresh(api, first["refresh_token"]).status_code == 400
    assert verify(api, third["access_token"]).status_code == 401


def test_access_token_is_refused_as_a_refresh_token(api, user, login):
    pair = login()
    response = refresh(api, pair["access_token"])
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert refresh(api, pair["refresh_token"]).status_code == 200, "session untouched"


def test_session_ends_at_its_absolute_lifetime(api, user, login):
    pair = login()
    AuthSession.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = refresh(api, pair["refresh_token"])
    assert response.status_code == 400 and "ended" in response.json()["error_description"]


def test_refresh_of_a_deactivated_user_fails_and_ends_the_session(api, user, login):
    pair = login()
    type(user).objects.filter(pk=user.pk).update(is_active=False)  # bypasses signals on purpose
    assert refresh(api, pair["refresh_token"]).status_code == 400
    assert AuthSession.objects.get().state == AuthSession.State.REVOKED
    assert not AuditEvent.objects.filter(type="refresh").exists()


def test_each_refresh_is_audited_with_who_where_and_which_session(api, user, login):
    pair = login()
    sid = claims_of(pair["access_token"])["sid"]
    api.post(
        "/api/auth/refresh",
        {"refresh_token": pair["refresh_token"]},
        format="json",
        HTTP_USER_AGENT="phone/1.0",
        REMOTE_ADDR="192.0.2.7",
    )
    event = AuditEvent.objects.get(type="refresh")
    assert (event.outcome, event.actor_user, event.actor_client, event.target) == (
        "success",
        user,
        None,
        sid,
    )
    assert (event.ip, event.user_agent, event.details) == ("192.0.2.7", "phone/1.0", {})


def test_refresh_picks_up_role_changes(api, user, login):
    from django.contrib.auth.models import Group

    pair = login()
    user.groups.add(Group.objects.get(name="admin"))
    new = refresh(api, pair["refresh_token"]).json()
    assert claims_of(new["access_token"])["roles"] == ["admin", "user"]


def test_refresh_carries_every_role_by_its_exact_name_sorted_as_at_sign_in(api, user, login):
    from django.contrib.auth.models import Group

    names = ['o\'brien "ops"', "Zeta", "équipe, nord", "user"]
    user.groups.set([Group.objects.get_or_create(name=name)[0] for name in names])
    pair = login()
    new = refresh(api, pair["refresh_token"]).json()
    assert claims_of(new["access_token"])["roles"] == claims_of(pair["access_token"])["roles"]
    assert claims_of(new["access_token"])["roles"] == sorted(names)
    user.groups.clear()
    assert claims_of(refresh(api, new["refresh_token"]).json()["access_token"])["roles"] == []


def test_purge_expired_deletes_dead_sessions_and_keeps_live_ones(api, user, login, capsys):
    login()
    login()
    old = AuthSession.objects.order_by("created_at").first()
    AuthSession.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(days=1))
    call_command("purge_expired")
    assert '"sessions": 1' in capsys.readouterr().out
    assert list(AuthSession.objects.values_list("pk", flat=True)) != [old.pk]
    assert AuthSession.objects.count() == 1


def test_changing_the_password_ends_every_api_session(api, user, login, settings):
    settings.WARDEN_SHARED_CACHE = True
    phone, laptop = login(), login()
    user.set_password("a-brand-new-password-7")
    user.save()
    for pair in (phone, laptop):
        assert verify(api, pair["access_token"]).status_code == 401
        assert refresh(api, pair["refresh_token"]).status_code == 400
    assert set(AuthSession.objects.values_list("revoke_reason", flat=True)) == {"password_changed"}


def test_a_password_hash_upgrade_at_sign_in_is_not_a_password_change(
    api, make_user, login, settings
):
    from django.contrib.auth.hashers import make_password

    from accounts.models import User
    from tests.conftest import PASSWORD

    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    ]
    user = make_user("old@example.com")
    first = login("old@example.com")
    old_hash = make_password(PASSWORD, hasher="pbkdf2_sha1")
    User.objects.filter(pk=user.pk).update(password=old_hash)
    login("old@example.com")  # upgrades the stored hash to the first hasher
    assert User.objects.get(pk=user.pk).password.startswith("md5$")
    assert verify(api, first["access_token"]).status_code == 200


def test_a_grace_window_repeat_is_audited(api, user, login):
    first = login()
    refresh(api, first["refresh_token"])
    refresh(api, first["refresh_token"])
    assert AuditEvent.objects.filter(type="refresh_repeat").count() == 1
