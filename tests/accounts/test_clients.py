"""client_credentials answers from a client row read lately, and never against a change to it."""

import base64
import time

import jwt
import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import tokens
from accounts.flows import clients
from accounts.models import AuditEvent, ServiceClient

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def remembered(settings):
    """A shared cache (a single process here): the mode in which rows are remembered."""
    settings.WARDEN_SHARED_CACHE = True
    clients.recent_clients.clear()
    cache.clear()
    yield
    clients.recent_clients.clear()


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def grant(api, client_id: str, secret: str, **body):
    return api.post(
        "/api/auth/token",
        {"grant_type": "client_credentials", **body},
        format="json",
        HTTP_AUTHORIZATION=basic(client_id, secret),
    )


def client_reads(call) -> int:
    """Reads of one client's row (not the revoked set's periodic list of inactive clients)."""
    with CaptureQueriesContext(connection) as captured:
        call()
    by_id = '"accounts_serviceclient"."client_id" = '
    return sum(by_id in q["sql"] for q in captured.captured_queries)


def revoked_set_trusted() -> None:
    """With Redis: once this process listens to the revocation channel (else each check of a
    remembered row asks the database whether its client is live)."""
    deadline = time.monotonic() + 10
    while not (tokens.revocation._in_process() and tokens.revocation.revoked.current()):
        assert time.monotonic() < deadline, "the revocation channel never came up"
        time.sleep(0.05)


def test_a_client_asking_again_is_not_read_again_and_gets_a_fresh_token(api, service_client):
    client, secret = service_client
    revoked_set_trusted()
    first = grant(api, client.client_id, secret).json()
    assert client_reads(lambda: grant(api, client.client_id, secret)) == 0
    second = grant(api, client.client_id, secret).json()
    one, two = (
        jwt.decode(t["access_token"], options={"verify_signature": False}) for t in (first, second)
    )
    assert one["jti"] != two["jti"] and first["access_token"] != second["access_token"]
    assert (
        one.keys() == two.keys() >= {"sub", "client_id", "scope", "aud", "jti", "iat", "exp", "iss"}
    )
    assert two["sub"] == two["client_id"] == client.client_id
    assert jwt.get_unverified_header(second["access_token"])["typ"] == "at+jwt"


def test_rows_are_not_remembered_without_a_shared_cache(api, service_client, settings):
    settings.WARDEN_SHARED_CACHE = False  # a revocation elsewhere would go unseen
    client, secret = service_client
    grant(api, client.client_id, secret)
    assert client_reads(lambda: grant(api, client.client_id, secret)) == 1


def test_a_client_deactivated_elsewhere_is_refused_at_once(api, service_client):
    client, secret = service_client
    assert grant(api, client.client_id, secret).status_code == 200
    # Another process's deactivation: the database, and the event every process receives.
    ServiceClient.objects.filter(pk=client.pk).update(is_active=False)
    tokens.revocation.revoked.apply("client", client.client_id, 0)
    refused = grant(api, client.client_id, secret)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert refused["WWW-Authenticate"].startswith("Basic")
    assert AuditEvent.objects.filter(type="client_auth", outcome="failure").exists()


def test_a_client_deactivated_here_is_refused_and_reactivated_works_again(api, service_client):
    client, secret = service_client
    assert grant(api, client.client_id, secret).status_code == 200
    clients.service_client_set_active(client=client, active=False)
    assert grant(api, client.client_id, secret).status_code == 401
    clients.service_client_set_active(client=client, active=True)
    assert grant(api, client.client_id, secret).status_code == 200


def test_a_rotated_secret_is_refused_at_once_and_the_new_one_works(api, service_client):
    client, old = service_client
    assert grant(api, client.client_id, old).status_code == 200
    new = clients.service_client_rotate_secret(client=client)
    assert grant(api, client.client_id, old).status_code == 401
    assert grant(api, client.client_id, new).status_code == 200


def test_a_secret_rotated_elsewhere_works_at_once_and_the_old_one_ends_with_the_row(
    api, service_client, monkeypatch
):
    monkeypatch.setattr(clients, "RECENT_SECONDS", 0.2)
    client, old = service_client
    assert grant(api, client.client_id, old).status_code == 200
    new = tokens.new_secret()  # another process rotated: nothing told this one
    ServiceClient.objects.filter(pk=client.pk).update(secret_hash=tokens.secret_digest(new))
    assert grant(api, client.client_id, new).status_code == 200  # a mismatch reads the row
    time.sleep(0.25)
    assert grant(api, client.client_id, old).status_code == 401


def test_scopes_saved_in_the_admin_apply_at_once(api, service_client, client, make_user):
    from accounts.models import User

    make_user("root@example.com", is_staff=True, is_superuser=True)
    client.force_login(User.objects.get(email="root@example.com"))
    service, secret = service_client
    assert grant(api, service.client_id, secret, scope="inventory:write").status_code == 200
    saved = client.post(
        f"/admin/accounts/serviceclient/{service.pk}/change/",
        {"name": service.name, "is_active": "on", "scopes": "inventory:read"},
    )
    assert saved.status_code == 302
    narrowed = grant(api, service.client_id, secret, scope="inventory:write")
    assert narrowed.status_code == 400 and narrowed.json()["error"] == "invalid_scope"
    assert grant(api, service.client_id, secret).json()["scope"] == "inventory:read"


def test_an_ip_over_the_failure_limit_is_refused_even_with_a_remembered_row(
    api, service_client, settings
):
    client, secret = service_client
    assert grant(api, client.client_id, secret).status_code == 200
    for _ in range(settings.WARDEN_CLIENT_AUTH_FAILURES_PER_MINUTE):
        assert grant(api, client.client_id, secret + "x").status_code == 401
    blocked = grant(api, client.client_id, secret)
    assert blocked.status_code == 429 and blocked.json()["error"] == "rate_limited"


def test_only_clients_that_authenticated_are_remembered(api, service_client):
    client, secret = service_client
    for _ in range(2):
        assert grant(api, client.client_id, "wrong").status_code == 401
        assert grant(api, "svc_unknown", secret).status_code == 401
    assert clients.recent_clients.get(client.client_id) is None
    assert clients.recent_clients.get("svc_unknown") is None


def test_other_grants_and_endpoints_still_read_the_row(api, service_client):
    client, secret = service_client
    grant(api, client.client_id, secret)
    introspect = lambda: api.post(  # noqa: E731
        "/api/auth/introspect",
        {"token": "x"},
        format="json",
        HTTP_AUTHORIZATION=basic(client.client_id, secret),
    )
    assert client_reads(introspect) == 1
