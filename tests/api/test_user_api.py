"""The user-facing API: profile, own sessions, and the first role-protected endpoint."""

import base64

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_me_returns_profile_roles_and_connected_accounts(api, user, login):
    from allauth.socialaccount.models import SocialAccount

    SocialAccount.objects.create(user=user, provider="google", uid="g-123")
    response = api.get("/api/auth/me", **bearer(login()["access_token"]))
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["sub"] == str(user.public_id) and body["email"] == "ann@example.com"
    assert body["roles"] == ["user"]
    assert [a["provider"] for a in body["connected_accounts"]] == ["google"]


def test_me_without_token_is_401_with_bearer_challenge(api, db):
    response = api.get("/api/auth/me")
    assert response.status_code == 401 and "Bearer" in response["WWW-Authenticate"]


def test_me_is_for_users_not_services(api, service_client):
    client, secret = service_client
    token = api.post(
        "/api/auth/token",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION="Basic "
        + base64.b64encode(f"{client.client_id}:{secret}".encode()).decode(),
    ).json()["access_token"]
    assert api.get("/api/auth/me", **bearer(token)).status_code == 403


def test_user_lists_own_sessions_and_ends_one(api, user, login):
    laptop, phone = login(), login()
    listed = api.get("/api/auth/sessions", **bearer(laptop["access_token"])).json()
    assert len(listed) == 2 and sum(s["current"] for s in listed) == 1
    phone_sid = next(s["id"] for s in listed if not s["current"])
    response = api.delete(f"/api/auth/sessions/{phone_sid}", **bearer(laptop["access_token"]))
    assert response.status_code == 204
    assert api.get("/api/auth/verify", **bearer(phone["access_token"])).status_code == 401
    assert api.get("/api/auth/verify", **bearer(laptop["access_token"])).status_code == 200
    assert len(api.get("/api/auth/sessions", **bearer(laptop["access_token"])).json()) == 1


def test_user_cannot_end_someone_elses_session(api, make_user, login):
    make_user("ann@example.com")
    make_user("bob@example.com")
    ann, bob = login("ann@example.com"), login("bob@example.com")
    bob_sid = api.get("/api/auth/sessions", **bearer(bob["access_token"])).json()[0]["id"]
    assert (
        api.delete(f"/api/auth/sessions/{bob_sid}", **bearer(ann["access_token"])).status_code
        == 404
    )
    assert api.get("/api/auth/verify", **bearer(bob["access_token"])).status_code == 200


def test_admin_user_list_needs_the_admin_role(api, make_user, login):
    admin = make_user("root@example.com")
    admin.groups.add(Group.objects.get(name="admin"))
    make_user("ann@example.com")
    assert (
        api.get("/api/admin/users", **bearer(login("ann@example.com")["access_token"])).status_code
        == 403
    )
    response = api.get("/api/admin/users", **bearer(login("root@example.com")["access_token"]))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2 and [u["email"] for u in body["results"]] == [
        "ann@example.com",
        "root@example.com",
    ]
    assert body["results"][1]["roles"] == ["admin", "user"]


def test_has_scope_permission_reads_the_token_scope(rf, service_client, api):
    from rest_framework.response import Response
    from rest_framework.test import force_authenticate
    from rest_framework.views import APIView

    from api.permissions import HasScope

    class Inventory(APIView):
        permission_classes = (HasScope("inventory:write"),)

        def get(self, request):
            return Response({"ok": True})

    view = Inventory.as_view()
    for scope, expected in (("inventory:write", 200), ("inventory:read", 403)):
        request = rf.get("/")
        force_authenticate(request, user=object(), token={"scope": scope})
        assert view(request).status_code == expected


def test_create_service_client_command_prints_credentials_that_work(api, db, capsys):
    import json

    call_command("create_service_client", "reports", "--scope", "reports:read")
    creds = json.loads(capsys.readouterr().out)
    response = api.post(
        "/api/auth/token",
        f"grant_type=client_credentials&client_id={creds['client_id']}&client_secret={creds['client_secret']}",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200 and response.json()["scope"] == "reports:read"

    from accounts.models import ServiceClient

    stored = ServiceClient.objects.get(client_id=creds["client_id"])
    assert creds["client_secret"] not in stored.secret_hash


def test_openapi_schema_and_docs_are_served(api, db):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in (
        "/api/auth/token",
        "/api/auth/verify",
        "/api/auth/introspect",
        "/api/auth/revoke",
        "/api/auth/me",
    ):
        assert path in paths
    assert "429" in paths["/api/auth/token"]["post"]["responses"]
    docs = api.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
    assert b"cdn" not in docs.content.lower()


def test_me_without_connected_accounts_reads_the_roles_in_one_query(api, user, login):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    user.groups.add(Group.objects.create(name="billing"))
    token = login()["access_token"]
    with CaptureQueriesContext(connection) as queries:
        body = api.get("/api/auth/me", **bearer(token)).json()
    assert body["roles"] == ["billing", "user"] and body["connected_accounts"] == []
    profile = [q["sql"] for q in queries if "auth_group" in q["sql"] or "socialaccount" in q["sql"]]
    assert len(profile) == 1, profile
