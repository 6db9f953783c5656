"""Errors a service raises for the caller to see, in OAuth (RFC 6749 §5.2) vocabulary."""


class AuthError(Exception):
    """A refusal with an `error` code, a human `description`, an HTTP status and extras."""

    def __init__(
        self,
        error: str,
        description: str,
        *,
        status: int = 400,
        retry_after: int | None = None,
        extra: dict | None = None,
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status
        self.retry_after = retry_after
        self.extra = extra or {}

    def body(self) -> dict:
        return {"error": self.error, "error_description": self.description, **self.extra}


def invalid_grant(description: str = "The credentials or grant are invalid.") -> AuthError:
    return AuthError("invalid_grant", description)


def invalid_request(description: str) -> AuthError:
    return AuthError("invalid_request", description)


def invalid_client(description: str = "Client authentication failed.") -> AuthError:
    return AuthError("invalid_client", description, status=401)


def rate_limited(retry_after: int) -> AuthError:
    return AuthError(
        "rate_limited",
        "Too many attempts; try again later.",
        status=429,
        retry_after=retry_after,
    )
