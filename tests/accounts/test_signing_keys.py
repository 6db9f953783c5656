"""Signing keys: kid thumbprints, rotation, JWKS publication, encryption at rest."""

import base64
import hashlib
import io
import json
from datetime import timedelta

import jwt
import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts import tokens
from accounts.flows.keys import signing_key_rotate
from accounts.models import SigningKey
from accounts.tokens.keyring import _load_private
from tests.helpers import claims_of, header_of

pytestmark = pytest.mark.django_db


def jwks_kids(api) -> list[str]:
    return [key["kid"] for key in api.get("/.well-known/jwks.json").json()["keys"]]


def test_tokens_carry_the_rfc7638_thumbprint_of_their_key_as_kid(api, user, login):
    token = login()["access_token"]
    header = header_of(token)
    assert header["typ"] == "at+jwt" and header["alg"] == "RS256"
    jwk = next(
        k for k in api.get("/.well-known/jwks.json").json()["keys"] if k["kid"] == header["kid"]
    )
    canonical = json.dumps({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"))
    thumbprint = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=")
    assert header["kid"] == thumbprint.decode()
    assert "d" not in jwk and "p" not in jwk, "never a private part"


def test_rotation_keeps_old_tokens_valid_and_publishes_both_keys_until_retired(api, user, login):
    old_token = login()["access_token"]
    old_kid = header_of(old_token)["kid"]
    call_command("rotate_signing_key")
    new_token = login()["access_token"]
    new_kid = header_of(new_token)["kid"]
    assert new_kid != old_kid
    assert set(jwks_kids(api)) == {old_kid, new_kid}
    for token in (old_token, new_token):
        assert api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200

    old = SigningKey.objects.get(kid=old_kid)
    assert old.state == SigningKey.State.VERIFYING
    assert old.retire_at >= timezone.now() + timedelta(days=7), "outlives the longest token"
    SigningKey.objects.filter(kid=old_kid).update(retire_at=timezone.now() - timedelta(seconds=1))
    call_command("purge_expired")
    assert jwks_kids(api) == [new_kid]
    assert SigningKey.objects.get(kid=old_kid).state == SigningKey.State.RETIRED
    assert api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {old_token}").status_code == 401


def test_es256_can_be_selected_for_new_keys(api, user, login):
    signing_key_rotate(algorithm="ES256")
    token = login()["access_token"]
    assert header_of(token)["alg"] == "ES256"
    key = api.get("/.well-known/jwks.json").json()["keys"][0]
    assert key["kty"] == "EC" and key["crv"] == "P-256" and key["alg"] == "ES256"
    assert api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


def test_private_keys_are_encrypted_at_rest(db):
    key = tokens.signing_key_ensure()
    stored = SigningKey.objects.get(pk=key.pk).private_key_encrypted
    assert "PRIVATE KEY" not in stored and not stored.startswith("-----")
    assert _load_private(key) is not None


def test_a_key_rotated_elsewhere_is_trusted_at_once_here(api, user, login):
    token = login()["access_token"]  # this "instance" has loaded its key ring
    other = tokens.signing_key_generate(algorithm="RS256")
    other.state = SigningKey.State.CURRENT
    SigningKey.objects.filter(state=SigningKey.State.CURRENT).update(
        state=SigningKey.State.VERIFYING
    )
    other.save()
    # Sign as the other instance would, without telling this process's key ring.
    claims = claims_of(token)
    foreign = jwt.encode(
        claims,
        _load_private(other),
        algorithm="RS256",
        headers={"kid": other.kid, "typ": "at+jwt"},
    )
    response = api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {foreign}")
    assert response.status_code == 200
    assert other.kid in jwks_kids(api)


def test_jwks_and_discovery_documents(api, db):
    jwks = api.get("/.well-known/jwks.json")
    assert jwks.status_code == 200 and jwks.json()["keys"][0]["use"] == "sig"
    meta = api.get("/.well-known/openid-configuration").json()
    assert meta["issuer"] == "http://127.0.0.1:8000"
    assert meta["token_endpoint"] == "http://127.0.0.1:8000/api/auth/token"
    assert meta["jwks_uri"] == "http://127.0.0.1:8000/.well-known/jwks.json"
    assert {"password", "refresh_token", "client_credentials"} <= set(meta["grant_types_supported"])
    assert "client_secret_basic" in meta["token_endpoint_auth_methods_supported"]
    assert api.get("/.well-known/oauth-authorization-server").json() == meta


def rotate_if_older_than(days: int) -> dict:
    out = io.StringIO()
    call_command("rotate_signing_key", "--if-older-than", str(days), stdout=out)
    return json.loads(out.getvalue())


def test_scheduled_rotation_leaves_a_key_younger_than_the_limit(api, user, login):
    kid = header_of(login()["access_token"])["kid"]
    SigningKey.objects.update(created_at=timezone.now() - timedelta(days=29))
    assert rotate_if_older_than(30) == {
        "rotated": False,
        "kid": kid,
        "algorithm": "RS256",
        "created_at": SigningKey.objects.get().created_at.isoformat(),
    }
    assert jwks_kids(api) == [kid]
    assert header_of(login()["access_token"])["kid"] == kid


def test_scheduled_rotation_replaces_an_old_key_and_old_tokens_still_verify(api, user, login):
    old_token = login()["access_token"]
    old_kid = header_of(old_token)["kid"]
    SigningKey.objects.update(created_at=timezone.now() - timedelta(days=31))
    result = rotate_if_older_than(30)
    assert result["rotated"] is True and result["kid"] != old_kid
    assert set(jwks_kids(api)) == {old_kid, result["kid"]}
    assert header_of(login()["access_token"])["kid"] == result["kid"]
    verify = api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {old_token}")
    assert verify.status_code == 200
    assert rotate_if_older_than(30)["rotated"] is False, "the new key is young"


def test_scheduled_rotation_with_zero_days_rotates_now(api, user, login):
    old_kid = header_of(login()["access_token"])["kid"]
    result = rotate_if_older_than(0)
    assert result["rotated"] is True and result["kid"] != old_kid
    assert SigningKey.objects.get(kid=result["kid"]).state == SigningKey.State.CURRENT


def test_jwks_is_served_from_the_key_ring_without_a_query_per_request(
    api, db, django_assert_max_num_queries
):
    api.get("/.well-known/jwks.json")  # loads the ring
    with django_assert_max_num_queries(0):
        for _ in range(100):
            assert api.get("/.well-known/jwks.json").status_code == 200


def test_a_rotated_key_is_published_at_once_but_signs_only_after_the_publish_delay(
    api, user, login, settings
):
    settings.WARDEN_KEY_PUBLISH_SECONDS = 65
    old_kid = header_of(login()["access_token"])["kid"]
    SigningKey.objects.update(created_at=timezone.now() - timedelta(days=1))
    new = signing_key_rotate()
    assert set(jwks_kids(api)) == {old_kid, new.kid}, "published at once"
    assert header_of(login()["access_token"])["kid"] == old_kid, "the old key still signs"
    SigningKey.objects.filter(pk=new.pk).update(created_at=timezone.now() - timedelta(seconds=66))
    tokens.keyring.invalidate()
    assert header_of(login()["access_token"])["kid"] == new.kid


def test_the_database_refuses_a_second_current_key(db):
    from django.db import IntegrityError, transaction

    tokens.signing_key_ensure()
    extra = tokens.signing_key_generate(algorithm="RS256")
    extra.state = SigningKey.State.CURRENT
    with pytest.raises(IntegrityError), transaction.atomic():
        extra.save()


def test_a_rotation_right_after_a_first_start_keeps_the_first_key_signing(
    api, user, login, settings
):
    settings.WARDEN_KEY_PUBLISH_SECONDS = 65
    first = header_of(login()["access_token"])["kid"]  # a fresh install's key, seconds old
    new = signing_key_rotate()
    tokens.keyring.invalidate()
    assert header_of(login()["access_token"])["kid"] == first, "neither is published long enough"
    assert new.kid in jwks_kids(api)
