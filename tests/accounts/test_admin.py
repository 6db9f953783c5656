"""The admin: users with roles, sessions with revocation, service clients, keys, audit trail."""

import re

import pytest
from django.contrib.auth.models import Group

from accounts import tokens
from accounts.models import AuditEvent, AuthSession, ServiceClient, User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, make_user):
    make_user("root@example.com", is_staff=True, is_superuser=True)
    client.force_login(User.objects.get(email="root@example.com"))
    return client


def test_user_list_shows_roles_and_filters_by_role(admin_client, make_user):
    boss = make_user("boss@example.com")
    boss.groups.add(Group.objects.get(name="admin"))
    page = admin_client.get("/admin/accounts/user/")
    assert page.status_code == 200 and b"admin, user" in page.content
    admin_group = Group.objects.get(name="admin")
    filtered = admin_client.get(f"/admin/accounts/user/?groups__id__exact={admin_group.pk}")
    assert b"boss@example.com" in filtered.content and b"ann@example.com" not in filtered.content
    found = admin_client.get("/admin/accounts/user/?q=BOSS")
    assert b"boss@example.com" in found.content


def test_roles_are_listed_as_roles_with_permissions(admin_client):
    page = admin_client.get("/admin/accounts/role/")
    assert page.status_code == 200 and b"Roles" in page.content and b">admin<" in page.content
    detail = admin_client.get(f"/admin/accounts/role/{Group.objects.get(name='admin').pk}/change/")
    assert b"permissions" in detail.content.lower()


def test_admin_can_create_a_user_who_gets_the_user_role(admin_client):
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "New@Example.com",
            "usable_password": "true",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302, response.content[:2000]
    assert User.objects.get(email="new@example.com").role_names == ["user"]


def test_admin_revokes_all_sessions_of_a_user(admin_client, user, login, api, settings):
    settings.WARDEN_SHARED_CACHE = True
    token = login()["access_token"]
    response = admin_client.post(
        "/admin/accounts/user/", {"action": "revoke_all_sessions", "_selected_action": [user.pk]}
    )
    assert response.status_code == 302
    assert api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_admin_revokes_a_session_from_the_session_list(admin_client, user, login, api):
    token = login()["access_token"]
    session = AuthSession.objects.get()
    assert admin_client.get("/admin/accounts/authsession/?state__exact=active").status_code == 200
    admin_client.post(
        "/admin/accounts/authsession/", {"action": "revoke", "_selected_action": [session.pk]}
    )
    assert api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_service_client_secret_is_shown_once_and_works(admin_client, api):
    response = admin_client.post(
        "/admin/accounts/serviceclient/add/",
        {"name": "orders", "scopes": "orders:read", "is_active": "on"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    client_id = re.search(r"<code>(svc_[0-9a-f]+)</code>", html).group(1)
    secret = re.search(r"client_secret</th><td><code>([^<]+)</code>", html).group(1)
    token = api.post(
        "/api/auth/token",
        f"grant_type=client_credentials&client_id={client_id}&client_secret={secret}",
        content_type="application/x-www-form-urlencoded",
    )
    assert token.status_code == 200
    change = admin_client.get(
        f"/admin/accounts/serviceclient/{ServiceClient.objects.get().pk}/change/"
    )
    assert secret not in change.content.decode()


def test_rotating_a_client_secret_invalidates_the_old_one(admin_client, api, service_client):
    client, old_secret = service_client
    response = admin_client.post(
        "/admin/accounts/serviceclient/",
        {"action": "rotate_secret", "_selected_action": [client.pk]},
    )
    new_secret = re.search(
        r"client_secret</th><td><code>([^<]+)</code>", response.content.decode()
    ).group(1)

    def grant(secret):
        return api.post(
            "/api/auth/token",
            f"grant_type=client_credentials&client_id={client.client_id}&client_secret={secret}",
            content_type="application/x-www-form-urlencoded",
        ).status_code

    assert grant(old_secret) == 401 and grant(new_secret) == 200
    assert AuditEvent.objects.filter(type="client_secret_rotated").exists()


def test_signing_keys_are_listed_without_private_parts(admin_client):
    key = tokens.signing_key_ensure()
    page = admin_client.get("/admin/accounts/signingkey/")
    assert key.kid.encode() in page.content
    detail = admin_client.get(f"/admin/accounts/signingkey/{key.pk}/change/").content.decode()
    assert key.kid in detail and key.private_key_encrypted not in detail and "PRIVATE" not in detail


def test_audit_trail_is_read_only(admin_client, user, login):
    login()
    event = AuditEvent.objects.filter(type="login").first()
    assert admin_client.get("/admin/accounts/auditevent/").status_code == 200
    assert admin_client.get("/admin/accounts/auditevent/add/").status_code == 403
    assert (
        admin_client.post(
            f"/admin/accounts/auditevent/{event.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )


def test_deleting_a_session_row_in_the_admin_stops_its_tokens(
    admin_client, user, login, api, settings
):
    settings.WARDEN_SHARED_CACHE = True
    token = login()["access_token"]
    assert api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    session = AuthSession.objects.get()
    response = admin_client.post(
        f"/admin/accounts/authsession/{session.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_admin_index_lists_wardens_models_under_their_own_heading(admin_client):
    page = admin_client.get("/admin/").content.decode()
    captions = re.findall(r"<caption>\s*<a [^>]*>([^<]+)</a>\s*</caption>", page)
    assert "Warden" in captions, captions
    assert captions.count("Accounts") == 1, "only allauth's email addresses are 'Accounts'"
    warden = page.split(">Warden</a>", 1)[1].split("</table>", 1)[0]
    assert "Service clients" in warden and "Signing keys" in warden


def test_service_client_added_with_active_unticked_cannot_get_tokens(admin_client, api):
    response = admin_client.post(
        "/admin/accounts/serviceclient/add/", {"name": "billing", "scopes": "billing:read"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    client_id = re.search(r"<code>(svc_[0-9a-f]+)</code>", html).group(1)
    secret = re.search(r"client_secret</th><td><code>([^<]+)</code>", html).group(1)
    assert ServiceClient.objects.get(client_id=client_id).is_active is False
    token = api.post(
        "/api/auth/token",
        f"grant_type=client_credentials&client_id={client_id}&client_secret={secret}",
        content_type="application/x-www-form-urlencoded",
    )
    assert token.status_code == 401
    listing = admin_client.get("/admin/accounts/serviceclient/?is_active__exact=0")
    assert b"billing" in listing.content


def test_saving_a_client_again_announces_its_deactivation_once(admin_client, service_client):
    from accounts.models import SecurityEvent

    client, _ = service_client
    url = f"/admin/accounts/serviceclient/{client.pk}/change/"
    form = {"name": client.name, "scopes": " ".join(client.allowed_scopes)}
    for _ in range(2):
        assert admin_client.post(url, form).status_code == 302
    assert ServiceClient.objects.get(pk=client.pk).is_active is False
    disabled = SecurityEvent.objects.filter(event_type__endswith="account-disabled")
    assert [e.subject["id"] for e in disabled] == [client.client_id]
