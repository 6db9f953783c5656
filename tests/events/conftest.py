"""Fixtures for revocation events: a receiver (service client with ssf:poll) and its poll."""

import base64

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts import tokens
from accounts.flows.clients import service_client_create


@pytest.fixture
def receiver(db):
    client, secret = service_client_create(name="feed", scopes=["ssf:poll"])
    return client, secret


@pytest.fixture
def feed(receiver):
    """An APIClient holding the receiver's client-credentials bearer token."""
    client, secret = receiver
    api = APIClient()
    answer = api.post(
        "/api/auth/token",
        {"grant_type": "client_credentials", "scope": "ssf:poll"},
        format="json",
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    )
    assert answer.status_code == 200, answer.content
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {answer.json()['access_token']}")
    return api


def basic_auth(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@pytest.fixture
def poll(feed):
    def do(**body) -> dict:
        body.setdefault("returnImmediately", True)
        answer = feed.post("/api/ssf/poll", body, format="json")
        assert answer.status_code == 200, answer.content
        return answer.json()

    return do


def decode_set(token: str, *, audience: str) -> dict:
    """A SET checked as a receiver would: signature by a published key, typ, iss, aud."""
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "secevent+jwt"
    algorithm, key = tokens.keyring.public_key(header["kid"])
    return jwt.decode(
        token, key, algorithms=[algorithm], audience=audience, issuer=settings.WARDEN_ISSUER
    )
