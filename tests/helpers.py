"""Test helpers for forging and inspecting tokens."""

import base64
import json
import time
import uuid

import jwt

from accounts import tokens


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def header_of(token: str) -> dict:
    return jwt.get_unverified_header(token)


def access_claims(**overrides) -> dict:
    now = int(time.time())
    claims = {
        "token_type": "access",
        "iss": "http://127.0.0.1:8000",
        "aud": "warden",
        "sub": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
        "roles": ["admin"],
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def sign_with_current_key(claims: dict, **headers) -> str:
    """Sign like Warden does (real key, real kid) so single checks can be tested in isolation."""
    signer = tokens.keyring.signer()
    header = {"kid": signer.kid, "typ": tokens.ACCESS_TYP, **headers}
    return jwt.encode(claims, signer.private_key, algorithm=signer.algorithm, headers=header)


def unsigned(header: dict, claims: dict, signature: bytes = b"") -> str:
    return ".".join(
        [b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), b64(signature)]
    )
