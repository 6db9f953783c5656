"""The SDK's claim checks on correctly signed tokens, with fixed keys (no Warden needed)."""

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from warden_client import TokenVerifier
from warden_client.errors import InvalidToken, TokenExpired

ISSUER, AUDIENCE = "https://auth.example", "warden"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def jwks() -> dict:
    rsa_jwk = {
        **jwt.algorithms.RSAAlgorithm.to_jwk(RSA_KEY.public_key(), as_dict=True),
        "kid": "r",
        "alg": "RS256",
    }
    ec_jwk = {
        **jwt.algorithms.ECAlgorithm.to_jwk(EC_KEY.public_key(), as_dict=True),
        "kid": "e",
        "alg": "ES256",
    }
    return {"keys": [rsa_jwk, ec_jwk]}


def token(*, key=RSA_KEY, kid="r", alg="RS256", typ="at+jwt", **overrides) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "u1",
        "sid": "s1",
        "roles": ["user"],
        "token_type": "access",
        "iat": now,
        "exp": now + 600,
        "jti": "j",
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid, "typ": typ})


@pytest.fixture
def verifier():
    return TokenVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks())


def test_good_rs256_and_es256_tokens_verify(verifier):
    assert verifier.verify(token()).sub == "u1"
    assert verifier.verify(token(key=EC_KEY, kid="e", alg="ES256")).sub == "u1"


def test_audience_may_be_a_list_that_contains_ours(verifier):
    assert verifier.verify(token(aud=["other", AUDIENCE])).sub == "u1"


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"exp": int(time.time()) - 3600}, TokenExpired),
        ({"exp": None}, InvalidToken),
        ({"iat": None}, InvalidToken),
        ({"exp": "tomorrow"}, InvalidToken),
        ({"exp": True}, InvalidToken),
        ({"nbf": int(time.time()) + 3600}, InvalidToken),
        ({"iat": int(time.time()) + 3600}, InvalidToken),
        ({"iss": "https://evil.example"}, InvalidToken),
        ({"iss": None}, InvalidToken),
        ({"aud": "another"}, InvalidToken),
        ({"aud": ["another"]}, InvalidToken),
        ({"aud": None}, InvalidToken),
        ({"token_type": "refresh"}, InvalidToken),
        ({"sub": 42}, InvalidToken),
    ],
)
def test_claims_are_checked_after_the_signature(verifier, overrides, error):
    with pytest.raises(error):
        verifier.verify(token(**overrides))


def test_non_finite_times_are_refused(verifier):
    raw = jwt.api_jws.PyJWS().encode(
        f'{{"iss":"{ISSUER}","aud":"{AUDIENCE}","sub":"u","token_type":"access","iat":0,"exp":NaN}}'.encode(),
        RSA_KEY,
        algorithm="RS256",
        headers={"kid": "r", "typ": "at+jwt"},
    )
    with pytest.raises(InvalidToken):
        verifier.verify(raw)


def test_a_key_verifies_only_with_its_own_algorithm(verifier):
    # An ES256 signature presented under the RSA key's kid, and the reverse.
    with pytest.raises(InvalidToken):
        verifier.verify(token(key=EC_KEY, kid="r", alg="ES256"))
    with pytest.raises(InvalidToken):
        verifier.verify(token(kid="e"))


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t + ".x",
        lambda t: t.rsplit(".", 1)[0],
        lambda t: t[:-4] + "AAAA",
        lambda t: t.replace(".", ".\u00e9", 1),
        lambda t: t.split(".")[0] + "..",
    ],
)
def test_mangled_tokens_are_invalid_not_errors(verifier, mangle):
    with pytest.raises(InvalidToken):
        verifier.verify(mangle(token()))
