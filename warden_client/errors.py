"""Exceptions the SDK raises; every one derives from WardenError."""

from __future__ import annotations


class WardenError(Exception):
    """Base class: anything the Warden client refuses or cannot do."""


class WardenUnavailable(WardenError):
    """Warden could not be reached or answered with a server error: retry later, answer 503."""


class InvalidToken(WardenError):
    """A presented access token is not acceptable; `reason` is safe to show the caller."""

    def __init__(self, reason: str = "invalid token") -> None:
        super().__init__(reason)
        self.reason = reason


class TokenExpired(InvalidToken):
    def __init__(self, reason: str = "token expired") -> None:
        super().__init__(reason)


class TokenRevoked(InvalidToken):
    """Signed correctly but no longer live (only online checks can tell)."""

    def __init__(self, reason: str = "token revoked") -> None:
        super().__init__(reason)


class GrantRefused(WardenError):
    """The token endpoint said no: `error` is the RFC 6749 §5.2 code, `description` its text."""

    def __init__(self, error: str, description: str = "", *, status: int = 400) -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description
        self.status = status


class RateLimited(GrantRefused):
    def __init__(self, error: str, description: str = "", *, status: int = 429, retry_after=None):
        super().__init__(error, description, status=status)
        self.retry_after = retry_after


class MfaRequired(GrantRefused):
    """The password was right; finish with UserTokenClient.login_mfa(exc.mfa_token, code)."""

    def __init__(self, error: str, description: str = "", *, mfa_token: str, methods=()):
        super().__init__(error, description, status=401)
        self.mfa_token = mfa_token
        self.methods = list(methods)


class SessionRevoked(GrantRefused):
    """The user's session ended (logout, revocation, refresh refused): sign in again."""


class NotSignedIn(WardenError):
    """A UserTokenClient was asked for a token before login() or after logout()."""


class Forbidden(WardenError):
    """The caller is authenticated but lacks a required role or scope."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
