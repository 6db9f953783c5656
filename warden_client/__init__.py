"""Warden client SDK: verify access tokens locally, get service and user tokens."""

from warden_client.clients import ServiceTokenClient, UserTokenClient
from warden_client.errors import (
    Forbidden,
    GrantRefused,
    InvalidToken,
    MfaRequired,
    NotSignedIn,
    RateLimited,
    SessionRevoked,
    TokenExpired,
    TokenRevoked,
    WardenError,
    WardenUnavailable,
)
from warden_client.feed import RevocationFeed
from warden_client.identity import Identity
from warden_client.verifier import TokenVerifier

__all__ = [
    "Forbidden",
    "GrantRefused",
    "Identity",
    "InvalidToken",
    "MfaRequired",
    "NotSignedIn",
    "RateLimited",
    "RevocationFeed",
    "ServiceTokenClient",
    "SessionRevoked",
    "TokenExpired",
    "TokenRevoked",
    "TokenVerifier",
    "UserTokenClient",
    "WardenError",
    "WardenUnavailable",
]
