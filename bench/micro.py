"""Micro-benchmarks for `make bench`: the password hasher's limit and local token decoding.

Prints one JSON object. Run with DJANGO_SETTINGS_MODULE set (bench/run.py does).
"""

import json
import os
import statistics
import time
import uuid

import django

ROUNDS = 15
COST_FIELDS = ("time_cost", "memory_cost", "parallelism")
DECODE_SECONDS = 1.0


def hasher() -> dict:
    from django.contrib.auth.hashers import get_hasher

    hasher = get_hasher("default")
    encoded = hasher.encode("bench-password-7f3a9c", hasher.salt())
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        assert hasher.verify("bench-password-7f3a9c", encoded)
        times.append(time.perf_counter() - start)
    one = statistics.median(times)
    cores = os.cpu_count() or 1
    return {
        "algorithm": hasher.algorithm,
        "params": {k: getattr(hasher, k, None) for k in COST_FIELDS},
        "hash_ms": round(one * 1000, 2),
        "cores": cores,
        "limit_per_s": round(cores / one, 1),
    }


def rate(fn, seconds: float = DECODE_SECONDS) -> float:
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(50):
            fn()
        count += 50
    return count / elapsed


def sample_tokens(n: int):
    """RS256 tokens shaped like Warden's access tokens, signed with a throwaway key."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {"iss": "http://bench", "aud": "warden", "iat": now, "exp": now + 900}
    tokens = [
        jwt.encode(
            {**claims, "sub": str(uuid.uuid4()), "jti": uuid.uuid4().hex, "token_type": "access"},
            key,
            algorithm="RS256",
            headers={"kid": "bench", "typ": "at+jwt"},
        )
        for _ in range(n)
    ]
    return key, tokens


def pyjwt_decoder(key):
    import jwt

    public = key.public_key()

    def decode(token):
        return jwt.decode(
            token, public, algorithms=["RS256"], audience="warden", issuer="http://bench"
        )

    return decode


def per_second_over(fn, tokens: list[str]) -> float:
    start = time.perf_counter()
    for token in tokens:
        fn(token)
    return len(tokens) / (time.perf_counter() - start)


def pyjwt_decode(key, tokens) -> dict:
    decode = pyjwt_decoder(key)
    return {"pyjwt_decode_per_s": round(rate(lambda: decode(tokens[0])))}


# --- SDK hook -----------------------------------------------------------------------------------
# BENCH-HOOK(sdk): "SDK local verify vs PyJWT decode" (issue 8, target: a repeated token >= 10x
# PyJWT's decode rate, a new token no slower than PyJWT). Runs only when `warden_client` is
# importable (the SDK, warden_client/, is written on its own branch): TokenVerifier with fixed
# keys, so nothing is fetched; `sdk_verifier` is the one place to adapt if its API changes.


def sdk_verifier(warden_client, jwks: dict):
    return warden_client.TokenVerifier(jwks=jwks, issuer="http://bench", audience="warden")


def sdk_local_verify(key, tokens) -> dict:
    try:
        import warden_client
    except ImportError:
        return {"skipped": "warden_client is not importable yet"}
    import jwt

    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    verifier = sdk_verifier(warden_client, {"keys": [{**jwk, "kid": "bench", "alg": "RS256"}]})
    decode = pyjwt_decoder(key)
    # Measured back to back against PyJWT on the same tokens, so machine noise hits both.
    pyjwt_repeated = rate(lambda: decode(tokens[0]))
    repeated = rate(lambda: verifier.verify(tokens[0]))
    pyjwt_new = per_second_over(decode, tokens[1:])
    new = per_second_over(verifier.verify, tokens[1:])
    return {
        "repeated_per_s": round(repeated),
        "new_token_per_s": round(new),
        "repeated_vs_pyjwt": round(repeated / pyjwt_repeated, 2),
        "new_vs_pyjwt": round(new / pyjwt_new, 2),
    }


if __name__ == "__main__":
    django.setup()
    key, tokens = sample_tokens(1000)
    result = {"hasher": hasher(), **pyjwt_decode(key, tokens), "sdk": sdk_local_verify(key, tokens)}
    print(json.dumps(result))
