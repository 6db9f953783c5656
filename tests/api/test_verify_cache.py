"""Verified tokens remembered until they expire: faster, and never a different answer."""

import time
from datetime import timedelta
from unittest import mock

import jwt
import pytest

from accounts import tokens
from accounts.models import SigningKey
from accounts.tokens import check

pytestmark = pytest.mark.django_db


def verify(api, token, **extra):
    return api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {token}", **extra)


def test_a_second_verify_of_a_token_answers_the_same_without_checking_the_signature_again(
    api, user, login
):
    token = login()["access_token"]
    first = verify(api, token)
    with mock.patch.object(jwt, "decode", side_effect=AssertionError("decoded again")):
        again = verify(api, token)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again["X-User-Id"] == first["X-User-Id"]


def test_a_remembered_token_is_refused_as_soon_as_its_session_ends(api, user, login):
    pair = login()
    assert verify(api, pair["access_token"]).status_code == 200
    api.post("/api/auth/logout", {"refresh_token": pair["refresh_token"]}, format="json")
    refused = verify(api, pair["access_token"])
    assert refused.status_code == 401 and refused.json()["active"] is False


def test_a_remembered_token_is_refused_once_it_expires(api, user, login, settings):
    settings.WARDEN_CLOCK_LEEWAY = 0
    settings.WARDEN_ACCESS_TOKEN_LIFETIME = timedelta(seconds=2)
    token = login()["access_token"]
    assert verify(api, token).status_code == 200
    time.sleep(max(0.0, tokens.AccessToken.parse(token).payload["exp"] - time.time()) + 0.2)
    refused = verify(api, token)
    assert refused.status_code == 401 and refused.json()["error"] == "token expired"


def test_a_remembered_token_is_refused_once_its_signing_key_is_retired(api, user, login):
    token = login()["access_token"]
    assert verify(api, token).status_code == 200
    SigningKey.objects.update(state=SigningKey.State.RETIRED)
    tokens.keyring.invalidate()  # what the next reload (KEYRING_REFRESH_SECONDS) does
    assert verify(api, token).status_code == 401


def test_a_token_remembered_for_one_audience_is_still_refused_for_another(api, user, login):
    token = login()["access_token"]
    assert verify(api, token).status_code == 200
    other = verify(api, token, HTTP_X_WARDEN_AUDIENCE="https://orders.example")
    assert other.status_code == 401 and other.json()["error"] == "wrong audience"
    assert verify(api, token).status_code == 200


def test_what_a_caller_changes_in_its_claims_does_not_reach_the_next_caller(api, user, login):
    token = login()["access_token"]
    mine = tokens.access_token_check(raw=token)
    mine["roles"].append("admin")  # a shallow copy: a caller could still do this
    mine["sub"] = "someone else"
    assert verify(api, token).json()["sub"] == str(user.public_id)


def test_the_number_of_remembered_tokens_is_bounded(api, make_user, login, settings):
    settings.WARDEN_VERIFY_CACHE_SIZE = 2
    for i in range(4):
        make_user(f"user{i}@example.com")
        token = login(email=f"user{i}@example.com")["access_token"]
        assert verify(api, token).status_code == 200
    assert len(check._VERIFIED) == 2
