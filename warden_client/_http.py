"""The few HTTP calls the SDK makes, with timeouts and errors mapped to SDK exceptions."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

from warden_client.errors import (
    GrantRefused,
    MfaRequired,
    RateLimited,
    SessionRevoked,
    WardenUnavailable,
)

DEFAULT_TIMEOUT = (3.05, 10.0)


def new_session(user_agent: str) -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = user_agent
    session.trust_env = False  # a proxy from the environment must not see client secrets
    return session


def basic_auth(client_id: str, client_secret: str) -> tuple[str, str]:
    """RFC 6749 §2.3.1: form-encode both parts before HTTP Basic."""
    return quote(client_id, safe=""), quote(client_secret, safe="")


def call(
    session: requests.Session,
    method: str,
    url: str,
    *,
    timeout: Any = DEFAULT_TIMEOUT,
    **kwargs: Any,
) -> requests.Response:
    try:
        response = session.request(method, url, timeout=timeout, allow_redirects=False, **kwargs)
    except requests.RequestException as exc:
        raise WardenUnavailable(f"{method} {url} failed: {type(exc).__name__}") from exc
    if response.status_code >= 500:
        raise WardenUnavailable(f"{method} {url} answered {response.status_code}")
    return response


def json_body(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError as exc:
        status = response.status_code
        raise WardenUnavailable(f"{response.url} answered non-JSON ({status})") from exc
    if not isinstance(body, dict):
        raise WardenUnavailable(f"{response.url} answered an unexpected JSON shape")
    return body


def token_call(session: requests.Session, url: str, *, revoked_means_session: bool, **kwargs):
    """POST to a token endpoint; 2xx gives the body, an RFC 6749 §5.2 error raises."""
    response = call(session, "POST", url, **kwargs)
    if response.status_code == 204:
        return {}
    body = json_body(response)
    if response.ok:
        return body
    error = str(body.get("error") or "invalid_request")
    description = str(body.get("error_description") or "")
    if response.status_code == 429:
        retry = response.headers.get("Retry-After")
        raise RateLimited(
            error, description, retry_after=int(retry) if retry and retry.isdigit() else None
        )
    if error == "mfa_required" and isinstance(body.get("mfa_token"), str):
        raise MfaRequired(
            error, description, mfa_token=body["mfa_token"], methods=body.get("methods") or ()
        )
    if revoked_means_session and error == "invalid_grant":
        raise SessionRevoked(error, description, status=response.status_code)
    raise GrantRefused(error, description, status=response.status_code)
