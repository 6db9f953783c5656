"""TokenVerifier against a live Warden: local checks, JWKS caching, rotation, online checks."""

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.conf import settings

from accounts import tokens
from accounts.audit import Caller
from accounts.flows.keys import signing_key_rotate
from accounts.flows.sessions import session_start
from warden_client import (
    InvalidToken,
    TokenExpired,
    TokenRevoked,
    TokenVerifier,
    WardenUnavailable,
)


def _segments(token: str) -> list[str]:
    return token.split(".")


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _header(token: str) -> dict:
    return jwt.get_unverified_header(token)


def _claims(**extra) -> dict:
    now = int(time.time())
    return {
        "iss": settings.WARDEN_ISSUER,
        "aud": settings.WARDEN_AUDIENCE,
        "sub": "attacker",
        "sid": "x",
        "token_type": "access",
        "iat": now,
        "exp": now + 600,
        "jti": "j",
        **extra,
    }


def test_verifies_warden_access_token_and_reads_the_identity(verifier, user, login):
    access = login()["access_token"]
    identity = verifier.verify(access)
    assert identity.sub == str(user.public_id)
    assert identity.email == "ann@example.com"
    assert identity.subject_type == "user"
    assert identity.has_role("user") and not identity.has_role("admin")
    assert identity.sid


def test_steady_state_sends_nothing_to_warden(verifier, wire, make_user, login):
    tokens_seen = []
    for n in range(5):
        make_user(f"user{n}@example.com")
        tokens_seen.append(login(f"user{n}@example.com")["access_token"])
    for _ in range(20):
        for access in tokens_seen:
            verifier.verify(access)
    assert wire.sent == [f"GET {verifier.jwks_url}"]


def test_service_token_identity_carries_scopes(verifier, service_tokens):
    identity = verifier.verify(service_tokens.token())
    assert identity.is_service
    assert identity.has_scope("inventory:read") and not identity.has_scope("inventory:write")


def test_refresh_token_is_refused_as_access_token(verifier, user, login):
    refresh = login()["refresh_token"]
    with pytest.raises(InvalidToken, match="malformed token"):  # opaque: not even a JWT
        verifier.verify(refresh)


def test_tampered_payload_is_refused(verifier, user, login):
    head, body, sig = _segments(login()["access_token"])
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["roles"] = ["admin"]
    with pytest.raises(InvalidToken, match="invalid signature"):
        verifier.verify(f"{head}.{_b64(claims)}.{sig}")


def test_wrong_audience_and_issuer_are_refused(warden, user, login):
    access = login()["access_token"]
    other_aud = TokenVerifier(issuer=settings.WARDEN_ISSUER, audience="billing", base_url=warden)
    with pytest.raises(InvalidToken, match="wrong audience"):
        other_aud.verify(access)
    other_iss = TokenVerifier(issuer="https://evil.example", audience="warden", base_url=warden)
    with pytest.raises(InvalidToken, match="wrong issuer"):
        other_iss.verify(access)


def test_expired_token_is_refused(verifier, user):
    session = session_start(user=user, method="password", caller=Caller())
    sid = verifier.verify(session["access_token"]).sid
    token = tokens.AccessToken()
    token.set_exp(lifetime=-timedelta(seconds=settings.WARDEN_CLOCK_LEEWAY + 60))
    token["sub"], token["sid"], token["roles"] = str(user.public_id), sid, []
    with pytest.raises(TokenExpired):
        verifier.verify(str(token))


def test_alg_none_and_hs256_with_the_public_key_are_refused(verifier, user, login):
    head = _header(login()["access_token"])
    none_token = f"{_b64({**head, 'alg': 'none'})}.{_b64(_claims())}."
    with pytest.raises(InvalidToken):
        verifier.verify(none_token)
    public_pem = jwt.PyJWK(tokens.keyring.jwks()[0]).key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    hs_header = _b64({**head, "alg": "HS256"})
    signing_input = f"{hs_header}.{_b64(_claims())}".encode()
    sig = base64.urlsafe_b64encode(hmac.new(public_pem, signing_input, hashlib.sha256).digest())
    with pytest.raises(InvalidToken, match="algorithm not allowed"):
        verifier.verify(f"{signing_input.decode()}.{sig.rstrip(b'=').decode()}")


def test_token_signed_by_an_unknown_key_is_refused(verifier, user, login):
    real_kid = _header(login()["access_token"])["kid"]
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged_known_kid = jwt.encode(
        _claims(), attacker, algorithm="RS256", headers={"kid": real_kid, "typ": "at+jwt"}
    )
    with pytest.raises(InvalidToken, match="invalid signature"):
        verifier.verify(forged_known_kid)
    forged_new_kid = jwt.encode(
        _claims(), attacker, algorithm="RS256", headers={"kid": "made-up", "typ": "at+jwt"}
    )
    with pytest.raises(InvalidToken, match="unknown signing key"):
        verifier.verify(forged_new_kid)


def test_embedded_key_headers_are_refused(verifier, user, login):
    attacker = ec.generate_private_key(ec.SECP256R1())
    jwk = jwt.algorithms.ECAlgorithm.to_jwk(attacker.public_key(), as_dict=True)
    forged = jwt.encode(
        _claims(), attacker, algorithm="ES256", headers={"typ": "at+jwt", "kid": "k", "jwk": jwk}
    )
    with pytest.raises(InvalidToken, match="embedded keys"):
        verifier.verify(forged)


def test_rotated_key_is_fetched_once_and_unknown_kids_are_rate_limited(verifier, wire, user):
    def fresh_access() -> str:
        return session_start(user=user, method="password", caller=Caller())["access_token"]

    old = fresh_access()
    verifier.verify(old)
    new_key = signing_key_rotate()
    new = fresh_access()
    assert _header(new)["kid"] == new_key.kid
    assert verifier.verify(new).sub == str(user.public_id)
    assert verifier.verify(old).sub == str(user.public_id)
    assert wire.sent.count(f"GET {verifier.jwks_url}") == 2
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for n in range(20):
        forged = jwt.encode(
            _claims(), attacker, algorithm="RS256", headers={"kid": f"kid{n}", "typ": "at+jwt"}
        )
        with pytest.raises(InvalidToken):
            verifier.verify(forged)
    # The rotation's fetch is under a second old: the flood of made-up kids fetched nothing.
    assert wire.sent.count(f"GET {verifier.jwks_url}") == 2


def test_cold_verifier_under_concurrency_fetches_jwks_once(verifier, wire, make_user, login):
    accesses = []
    for n in range(4):
        make_user(f"c{n}@example.com")
        accesses.append(login(f"c{n}@example.com")["access_token"])
    barrier = threading.Barrier(16)
    results, errors = [], []

    def worker(i: int) -> None:
        barrier.wait()
        try:
            results.append(verifier.verify(accesses[i % 4]).email)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == []
    assert sorted(set(results)) == [f"c{n}@example.com" for n in range(4)]
    assert wire.sent == [f"GET {verifier.jwks_url}"]


def test_remembered_token_still_expires_on_time(warden, user, login):
    now = [time.time()]
    verifier = TokenVerifier(
        issuer=settings.WARDEN_ISSUER,
        audience=settings.WARDEN_AUDIENCE,
        base_url=warden,
        clock=lambda: now[0],
    )
    access = login()["access_token"]
    exp = verifier.verify(access).exp
    now[0] = exp + verifier.leeway + 1
    with pytest.raises(TokenExpired):
        verifier.verify(access)


def test_remembered_tokens_are_bounded(warden, make_user, login):
    verifier = TokenVerifier(
        issuer=settings.WARDEN_ISSUER,
        audience=settings.WARDEN_AUDIENCE,
        base_url=warden,
        cache_size=3,
    )
    for n in range(6):
        make_user(f"b{n}@example.com")
        verifier.verify(login(f"b{n}@example.com")["access_token"])
    assert verifier.cached_tokens == 3


def test_logout_is_seen_online_but_not_locally(verifier, user, login, api):
    pair = login()
    verifier.verify(pair["access_token"], online=True)
    api.post("/api/auth/logout", {"refresh_token": pair["refresh_token"]}, format="json")
    # Local verification trusts the signature until exp: that is the documented trade-off.
    assert verifier.verify(pair["access_token"]).email == "ann@example.com"
    with pytest.raises(TokenRevoked):
        verifier.verify(pair["access_token"], online=True)


def test_online_check_uses_introspection_with_client_credentials(
    warden, wire, service_client, user, login, api
):
    client, secret = service_client
    verifier = TokenVerifier(
        issuer=settings.WARDEN_ISSUER,
        audience=settings.WARDEN_AUDIENCE,
        base_url=warden,
        client_id=client.client_id,
        client_secret=secret,
        session=wire,
    )
    pair = login()
    assert verifier.verify(pair["access_token"], online=True).email == "ann@example.com"
    assert f"POST {verifier.introspection_url}" in wire.sent
    api.post("/api/auth/logout", {"refresh_token": pair["refresh_token"]}, format="json")
    with pytest.raises(TokenRevoked):
        verifier.verify(pair["access_token"], online=True)


def test_unreachable_warden_is_unavailable_not_invalid(user, login):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    verifier = TokenVerifier(
        issuer=settings.WARDEN_ISSUER,
        audience=settings.WARDEN_AUDIENCE,
        base_url=f"http://127.0.0.1:{closed_port}",
        timeout=2,
    )
    with pytest.raises(WardenUnavailable):
        verifier.verify(login()["access_token"])


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "x" * 20000, "e30.e30.e30"])
def test_garbage_is_invalid_not_an_error(verifier, garbage, db):
    with pytest.raises(InvalidToken):
        verifier.verify(garbage)
