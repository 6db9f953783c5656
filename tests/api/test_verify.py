"""GET/POST /api/auth/verify: what gateways and services see, and revocation reaching it."""

import pytest
from django.core.cache import cache

from accounts.models import AuthSession
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def verify(api, token):
    return api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_valid_access_token_answers_claims_and_gateway_headers(api, user, login):
    pair = login()
    response = verify(api, pair["access_token"])
    assert response.status_code == 200
    body = response.json()
    assert body["active"] is True and body["subject_type"] == "user"
    assert body["sub"] == str(user.public_id) and body["email"] == "ann@example.com"
    assert body["roles"] == ["user"] and body["sid"] and body["exp"] > body["iat"]
    assert response["X-User-Id"] == str(user.public_id)
    assert response["X-User-Email"] == "ann@example.com"
    assert response["X-User-Roles"] == "user"


def test_roles_header_is_comma_separated(api, user, login):
    from django.contrib.auth.models import Group

    user.groups.add(Group.objects.get(name="admin"))
    response = verify(api, login()["access_token"])
    assert response["X-User-Roles"] == "admin,user"


def test_post_verify_answers_the_same_as_get(api, user, login):
    token = login()["access_token"]
    by_get = verify(api, token)
    by_post = api.post("/api/auth/verify", {"token": token}, format="json")
    assert by_post.status_code == by_get.status_code == 200
    assert by_post.json() == by_get.json()
    bad = api.post("/api/auth/verify", {"token": "x.y.z"}, format="json")
    assert bad.status_code == 401 and bad.json()["active"] is False


def test_missing_token_is_401_with_bare_bearer_challenge(api, db):
    response = api.get("/api/auth/verify")
    assert response.status_code == 401
    assert response.json()["active"] is False
    assert response["WWW-Authenticate"] == 'Bearer realm="warden"'


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0..", "Basic abc"])
def test_malformed_token_is_401_invalid_token(api, db, token):
    response = verify(api, token)
    assert response.status_code == 401
    assert response.json() == {"active": False, "error": response.json()["error"]}
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_refresh_token_is_refused_where_an_access_token_is_expected(api, user, login):
    response = verify(api, login()["refresh_token"])
    assert response.status_code == 401 and response.json()["active"] is False


@pytest.mark.parametrize("shared", [True, False])
def test_logout_is_seen_by_verify_at_once(api, user, login, settings, shared):
    settings.WARDEN_SHARED_CACHE = shared
    pair = login()
    assert verify(api, pair["access_token"]).status_code == 200
    assert (
        api.post(
            "/api/auth/logout", {"refresh_token": pair["refresh_token"]}, format="json"
        ).status_code
        == 204
    )
    response = verify(api, pair["access_token"])
    assert response.status_code == 401 and response.json()["error"] == "session revoked"
    refresh = api.post("/api/auth/refresh", {"refresh_token": pair["refresh_token"]}, format="json")
    assert refresh.status_code == 400


def test_deactivating_a_user_stops_their_tokens_at_once(api, user, login, settings):
    settings.WARDEN_SHARED_CACHE = True
    token = login()["access_token"]
    assert verify(api, token).status_code == 200
    user.is_active = False
    user.save()
    assert verify(api, token).status_code == 401
    assert AuthSession.objects.get().state == AuthSession.State.REVOKED


def test_deleted_user_tokens_stop(api, user, login, settings):
    settings.WARDEN_SHARED_CACHE = True
    token = login()["access_token"]
    assert verify(api, token).status_code == 200
    user.delete()
    assert verify(api, token).status_code == 401


def test_verify_makes_no_database_query_in_steady_state_with_shared_cache(
    api, user, login, settings, django_assert_num_queries
):
    settings.WARDEN_SHARED_CACHE = True
    token = login()["access_token"]
    verify(api, token)  # first call warms the revocation cache
    with django_assert_num_queries(0):
        for _ in range(3):
            assert verify(api, token).status_code == 200


def test_without_a_shared_cache_verify_asks_the_database_every_time(
    api, user, login, settings, django_assert_num_queries
):
    """The local-memory cache is per process: trusting it could miss another worker's logout."""
    settings.WARDEN_SHARED_CACHE = "auto"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    token = login()["access_token"]
    verify(api, token)
    with django_assert_num_queries(1):
        assert verify(api, token).status_code == 200
    # A revocation written by "another process" straight into the database is seen.
    AuthSession.objects.update(state=AuthSession.State.REVOKED)
    cache.clear()
    assert verify(api, token).status_code == 401


def test_revocation_survives_cache_eviction(api, user, login, settings):
    settings.WARDEN_SHARED_CACHE = True
    pair = login()
    api.post("/api/auth/logout", {"refresh_token": pair["refresh_token"]}, format="json")
    cache.clear()  # Redis restarted or the key was evicted: the database still answers
    assert verify(api, pair["access_token"]).status_code == 401


def test_service_token_verifies_as_service_with_scope(api, service_client):
    import base64

    client, secret = service_client
    auth = "Basic " + base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
    token = api.post(
        "/api/auth/token",
        "grant_type=client_credentials&scope=inventory%3Aread",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=auth,
    ).json()["access_token"]
    response = verify(api, token)
    assert response.status_code == 200
    assert response.json()["subject_type"] == "service" and response.json()["roles"] == []
    assert response["X-User-Id"] == client.client_id and response["X-User-Roles"] == ""


def test_password_change_does_not_silently_keep_other_passwords_working(api, user, login):
    user.set_password("a-brand-new-password-7")
    user.save()
    bad = api.post("/api/auth/login", {"email": user.email, "password": PASSWORD}, format="json")
    assert bad.status_code == 400
