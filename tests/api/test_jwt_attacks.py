"""Forged and misused tokens, refused by verify, introspection, the DRF authentication class
and the refresh endpoint alike (RFC 8725)."""

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from accounts import tokens
from tests.conftest import PASSWORD
from tests.helpers import b64, claims_of, header_of, sign_with_current_key, unsigned

pytestmark = pytest.mark.django_db

ATTACKER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem() -> bytes:
    signer = tokens.keyring.signer()
    return signer.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def hs256_with_public_key(claims: dict) -> str:
    header = {"alg": "HS256", "typ": "at+jwt", "kid": tokens.keyring.signer().kid}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(public_pem(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def attacker_signed(claims: dict, **headers) -> str:
    return jwt.encode(claims, ATTACKER_KEY, algorithm="RS256", headers={"typ": "at+jwt", **headers})


def attacker_jwk() -> dict:
    return json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(ATTACKER_KEY.public_key()))


def tampered(token: str, **changes) -> str:
    header, _payload, signature = token.split(".")
    claims = {**claims_of(token), **changes}
    return f"{header}.{b64(json.dumps(claims).encode())}.{signature}"


def forge(kind: str, real: str, refresh: str) -> str:
    """Build the attack token `kind` from a real access token of a live session."""
    claims = claims_of(real)
    kid = header_of(real)["kid"]
    now = int(time.time())
    return {
        "alg-none": lambda: unsigned({"alg": "none", "typ": "at+jwt", "kid": kid}, claims),
        "hs256-with-public-key": lambda: hs256_with_public_key(claims),
        "kid-path-traversal": lambda: sign_with_current_key(claims, kid="../../../../dev/null"),
        "kid-sql-injection": lambda: sign_with_current_key(claims, kid="x' OR '1'='1"),
        "unknown-kid": lambda: attacker_signed(claims, kid="not-a-warden-key"),
        "attacker-key-with-our-kid": lambda: attacker_signed(claims, kid=kid),
        "jku-header": lambda: attacker_signed(claims, kid=kid, jku="http://127.0.0.1:9/jwks"),
        "x5u-header": lambda: attacker_signed(claims, kid=kid, x5u="http://127.0.0.1:9/cert"),
        "embedded-jwk": lambda: attacker_signed(claims, kid=kid, jwk=attacker_jwk()),
        "jku-on-a-real-signature": lambda: sign_with_current_key(claims, jku="http://127.0.0.1:9/"),
        "stripped-signature": lambda: real.rsplit(".", 1)[0] + ".",
        "tampered-roles": lambda: tampered(real, roles=["admin"]),
        "tampered-sub": lambda: tampered(real, sub="00000000-0000-0000-0000-000000000000"),
        "expired": lambda: sign_with_current_key({**claims, "exp": now - 3600, "iat": now - 7200}),
        "not-yet-valid": lambda: sign_with_current_key({**claims, "nbf": now + 3600}),
        "wrong-issuer": lambda: sign_with_current_key({**claims, "iss": "https://evil.example"}),
        "wrong-audience": lambda: sign_with_current_key({**claims, "aud": "another-service"}),
        "missing-exp": lambda: sign_with_current_key(
            {k: v for k, v in claims.items() if k != "exp"}
        ),
        "refresh-as-access": lambda: refresh,
        "access-type-with-refresh-typ": lambda: sign_with_current_key(claims, typ="rt+jwt"),
        "mfa-typed": lambda: sign_with_current_key({**claims, "token_type": "mfa"}, typ="mfa+jwt"),
        "garbage": lambda: "eyJ." + base64.b64encode(b"\xff\xfe").decode() + ".x",
    }[kind]()


ATTACKS = [
    "alg-none",
    "hs256-with-public-key",
    "kid-path-traversal",
    "kid-sql-injection",
    "unknown-kid",
    "attacker-key-with-our-kid",
    "jku-header",
    "x5u-header",
    "embedded-jwk",
    "jku-on-a-real-signature",
    "stripped-signature",
    "tampered-roles",
    "tampered-sub",
    "expired",
    "not-yet-valid",
    "wrong-issuer",
    "wrong-audience",
    "missing-exp",
    "refresh-as-access",
    "access-type-with-refresh-typ",
    "mfa-typed",
    "garbage",
]


@pytest.fixture
def pair(user, login):
    return login()


@pytest.fixture
def introspector(service_client):
    client, secret = service_client
    return "Basic " + base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()


@pytest.mark.parametrize("kind", ATTACKS)
def test_forged_access_token_is_refused_everywhere(api, pair, introspector, kind):
    token = forge(kind, pair["access_token"], pair["refresh_token"])

    verify = api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert verify.status_code == 401 and verify.json()["active"] is False

    introspect = api.post(
        "/api/auth/introspect", {"token": token}, format="json", HTTP_AUTHORIZATION=introspector
    )
    assert introspect.status_code == 200 and introspect.json() == {"active": False}

    me = api.get("/api/auth/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert me.status_code == 401

    # And the genuine token still works: nothing above was refused for another reason.
    genuine = api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {pair['access_token']}")
    assert genuine.status_code == 200


def _with_secret(token: str, secret: str) -> str:
    return token.rsplit(".", 1)[0] + "." + secret


REFRESH_ATTACKS = {
    "access-as-refresh": lambda pair: pair["access_token"],
    "made-up-secret": lambda pair: _with_secret(pair["refresh_token"], "A" * 43),
    "one-character-changed": lambda pair: (
        pair["refresh_token"][:-1] + ("x" if pair["refresh_token"][-1] != "x" else "y")
    ),
    "another-session-id": lambda pair: "wrt_" + "0" * 32 + "." + pair["refresh_token"][-43:],
    "truncated": lambda pair: pair["refresh_token"][:-1],
    "jwt-signed-by-warden": lambda pair: sign_with_current_key(
        {**claims_of(pair["access_token"]), "token_type": "refresh"}, typ="rt+jwt"
    ),
}


@pytest.mark.parametrize("kind", sorted(REFRESH_ATTACKS))
def test_forged_refresh_token_is_refused_and_does_not_burn_the_session(api, pair, kind):
    token = REFRESH_ATTACKS[kind](pair)
    response = api.post("/api/auth/refresh", {"refresh_token": token}, format="json")
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    genuine = api.post("/api/auth/refresh", {"refresh_token": pair["refresh_token"]}, format="json")
    assert genuine.status_code == 200


def test_tokens_of_a_deactivated_or_deleted_user_are_refused(
    api, make_user, login, introspector, settings
):
    settings.WARDEN_SHARED_CACHE = True
    off, gone = make_user("off@example.com"), make_user("gone@example.com")
    off_pair, gone_pair = login("off@example.com"), login("gone@example.com")
    off.is_active = False
    off.save()
    gone.delete()
    for pair in (off_pair, gone_pair):
        token = pair["access_token"]
        assert api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
        assert api.get("/api/auth/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
        assert api.post(
            "/api/auth/introspect", {"token": token}, format="json", HTTP_AUTHORIZATION=introspector
        ).json() == {"active": False}
        refreshed = api.post(
            "/api/auth/refresh", {"refresh_token": pair["refresh_token"]}, format="json"
        )
        assert refreshed.status_code == 400


def test_a_naive_verifier_holding_the_public_key_accepts_no_refresh_or_mfa_token(api, pair, user):
    """The seed gateway's `jwt.verify(token, publicKey)`, no options: only access tokens pass.

    Refresh tokens are opaque, and MFA tokens are signed with a key no JWKS publishes."""
    from tests.mfa_support import enrol_totp

    public = tokens.keyring.signer().private_key.public_key()

    def naive(token: str) -> dict:
        return jwt.decode(
            token, public, algorithms=["RS256", "ES256"], options={"verify_aud": False}
        )

    assert naive(pair["access_token"])["token_type"] == "access"
    with pytest.raises(jwt.DecodeError):
        naive(pair["refresh_token"])
    enrol_totp(user)
    mfa_token = api.post(
        "/api/auth/login", {"email": user.email, "password": PASSWORD}, format="json"
    ).json()["mfa_token"]
    with pytest.raises(jwt.InvalidTokenError):
        naive(mfa_token)
    assert "kid" not in header_of(mfa_token), "names no published key"
