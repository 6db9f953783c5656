"""Fixtures for the client SDK tests: a live Warden (pytest-django's live_server) to talk to."""

import os

import pytest
import requests
from django.conf import settings

from accounts.models import Role
from warden_client import ServiceTokenClient, TokenVerifier

# The live server binds loopback only (an explicit address, port included, wins).
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")


class CountingSession(requests.Session):
    """A requests session that counts what the SDK really sends over the wire."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    def request(self, method, url, *args, **kwargs):
        self.sent.append(f"{method} {url}")
        return super().request(method, url, *args, **kwargs)


@pytest.fixture
def warden(live_server) -> str:
    return live_server.url


@pytest.fixture
def wire():
    session = CountingSession()
    yield session
    session.close()  # no keep-alive connection left for the live server's threads


@pytest.fixture
def verifier(warden, wire) -> TokenVerifier:
    return TokenVerifier(
        issuer=settings.WARDEN_ISSUER,
        audience=settings.WARDEN_AUDIENCE,
        base_url=warden,
        session=wire,
        min_refetch_interval=1.0,
    )


@pytest.fixture
def admin_user(make_user):
    user = make_user("root@example.com")
    user.groups.add(Role.objects.get_or_create(name="admin")[0])
    return user


@pytest.fixture
def service_tokens(warden, service_client, wire) -> ServiceTokenClient:
    client, secret = service_client
    return ServiceTokenClient(
        base_url=warden,
        client_id=client.client_id,
        client_secret=secret,
        scope="inventory:read",
        session=wire,
    )
