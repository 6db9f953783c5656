"""Security Event Tokens (RFC 8417): revocation events signed with the key ring's current key."""

from __future__ import annotations

from typing import Any

import jwt
from django.conf import settings

from accounts.tokens.keyring import keyring

SET_TYP = "secevent+jwt"
SESSION_REVOKED = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
CREDENTIAL_CHANGE = "https://schemas.openid.net/secevent/caep/event-type/credential-change"
ACCOUNT_DISABLED = "https://schemas.openid.net/secevent/risc/event-type/account-disabled"
# No registered event type ends one access token or one signing key: these two are Warden's.
TOKEN_REVOKED = "urn:warden:secevent:token-revoked"
SIGNING_KEY_RETIRED = "urn:warden:secevent:signing-key-retired"
EVENT_TYPES = (
    SESSION_REVOKED,
    CREDENTIAL_CHANGE,
    ACCOUNT_DISABLED,
    TOKEN_REVOKED,
    SIGNING_KEY_RETIRED,
)


def security_event_token(
    *,
    jti: str,
    audience: str,
    issued_at: int,
    txn: str,
    event_type: str,
    subject: dict[str, Any],
    payload: dict[str, Any],
) -> str:
    """One signed SET. Signed when delivered, not when recorded, so a key retired while the
    event waited never signs it; the claims themselves stay the same at every attempt."""
    signer = keyring.signer()
    claims = {
        "iss": settings.WARDEN_ISSUER,
        "aud": audience,
        "iat": issued_at,
        "jti": jti,
        "txn": txn,
        "sub_id": subject,
        "events": {event_type: payload},
    }
    headers = {"kid": signer.kid, "typ": SET_TYP}
    return jwt.encode(claims, signer.private_key, algorithm=signer.algorithm, headers=headers)
