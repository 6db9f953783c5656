"""Getting tokens: client_credentials for services, sign-in with refresh for users."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from warden_client import _http
from warden_client.errors import NotSignedIn, SessionRevoked, WardenUnavailable

log = logging.getLogger("warden_client")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass(frozen=True)
class _Token:
    value: str
    renew_at: float  # monotonic
    expires_at: float  # monotonic
    scope: str | None = None


def _token_from(body: dict, *, obtained: float, renew_before: float) -> _Token:
    value = body.get("access_token")
    lifetime = body.get("expires_in")
    if not isinstance(value, str) or not isinstance(lifetime, int | float) or lifetime <= 0:
        raise WardenUnavailable("token endpoint answered without access_token/expires_in")
    # Renew a little early, but never in the first half of a short lifetime.
    margin = min(renew_before, lifetime / 2)
    return _Token(value, obtained + lifetime - margin, obtained + lifetime, body.get("scope"))


class ServiceTokenClient:
    """A service's own access token (client_credentials), cached and renewed before expiry.

    Thread-safe and single-flight: however many threads ask at once, one token request goes
    out. Once a token is in its renewal window, one caller renews while the others keep using
    the still-valid token; only a token that has really expired makes callers wait.

    Authenticates with `client_secret`, or with `private_key` (RFC 7523 private_key_jwt: a
    PEM or a cryptography key whose public half is registered with Warden), signing a fresh
    one-minute assertion per request. `resource` names the audience the token is for.
    """

    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        client_secret: str | None = None,
        private_key: Any = None,
        key_id: str | None = None,
        resource: str | None = None,
        scope: str | None = None,
        renew_before: float = 60.0,
        timeout: Any = _http.DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token_url = base_url.rstrip("/") + "/api/auth/token"
        if (client_secret is None) == (private_key is None):
            raise ValueError("Give client_secret or private_key, one of them.")
        self.client_id = client_id
        self._auth = _http.basic_auth(client_id, client_secret) if client_secret else None
        if isinstance(private_key, str | bytes):
            private_key = serialization.load_pem_private_key(
                private_key.encode() if isinstance(private_key, str) else private_key, None
            )
        self._private_key, self._key_id = private_key, key_id
        self.resource = resource
        self.scope = scope
        self.renew_before = renew_before
        self.timeout = timeout
        self._session = session or _http.new_session("warden-client/service")
        self._clock = clock
        self._lock = threading.Lock()
        self._token: _Token | None = None
        self.request_count = 0

    def token(self) -> str:
        """A valid access token, from the cache or fresh from Warden."""
        current = self._token
        now = self._clock()
        if current is not None and now < current.renew_at:
            return current.value
        if current is not None and now < current.expires_at:
            if self._lock.acquire(blocking=False):
                try:
                    if self._token is current:
                        self._fetch()
                except WardenUnavailable as exc:
                    log.warning("Token renewal failed; the current token is still valid: %s", exc)
                finally:
                    self._lock.release()
            return (self._token or current).value
        with self._lock:
            latest = self._token
            if latest is None or latest is current or self._clock() >= latest.renew_at:
                self._fetch()
            return self._token.value

    def auth_header(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def invalidate(self) -> None:
        """Forget the token (say a downstream service answered 401): the next call fetches."""
        self._token = None

    def client_assertion(self) -> str:
        """A signed, single-use assertion for the token endpoint (RFC 7523 §3)."""
        now = int(time.time())
        algorithm = (
            "ES256" if isinstance(self._private_key, ec.EllipticCurvePrivateKey) else "RS256"
        )
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.token_url,
            "iat": now,
            "exp": now + 60,
            "jti": uuid.uuid4().hex,
        }
        headers = {"kid": self._key_id} if self._key_id else None
        return jwt.encode(claims, self._private_key, algorithm=algorithm, headers=headers)

    def _fetch(self) -> None:
        data = {"grant_type": "client_credentials"}
        if self.scope:
            data["scope"] = self.scope
        if self.resource:
            data["resource"] = self.resource
        if self._private_key is not None:
            data["client_assertion_type"] = ASSERTION_TYPE
            data["client_assertion"] = self.client_assertion()
        obtained = self._clock()
        self.request_count += 1
        body = _http.token_call(
            self._session,
            self.token_url,
            revoked_means_session=False,
            data=data,
            auth=self._auth,
            timeout=self.timeout,
        )
        self._token = _token_from(body, obtained=obtained, renew_before=self.renew_before)


class UserTokenClient:
    """A signed-in user's tokens: `auth_header()` refreshes before expiry, with rotation.

    Thread-safe: one refresh at a time, so a refresh token is never presented twice (Warden
    treats that as theft and revokes the session). When Warden refuses the refresh — logout,
    revoked session, expired session — SessionRevoked is raised, now and on every later call,
    until `login()` succeeds again.
    """

    def __init__(
        self,
        *,
        base_url: str,
        refresh_before: float = 30.0,
        timeout: Any = _http.DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        base = base_url.rstrip("/")
        self.login_url = f"{base}/api/auth/login"
        self.login_mfa_url = f"{base}/api/auth/login/mfa"
        self.refresh_url = f"{base}/api/auth/refresh"
        self.logout_url = f"{base}/api/auth/logout"
        self.refresh_before = refresh_before
        self.timeout = timeout
        self._session = session or _http.new_session("warden-client/user")
        self._clock = clock
        self._lock = threading.Lock()
        self._access: _Token | None = None
        self._refresh: str | None = None
        self._revoked: SessionRevoked | None = None
        self.refresh_count = 0

    @property
    def signed_in(self) -> bool:
        return self._refresh is not None

    def login(self, email: str, password: str) -> None:
        """Sign in; raises GrantRefused (wrong credentials), RateLimited, or MfaRequired when
        the account has a second factor (then call login_mfa with its mfa_token)."""
        self._sign_in(self.login_url, {"email": email, "password": password})

    def login_mfa(self, mfa_token: str, code: str) -> None:
        """Finish a sign-in with a TOTP or recovery code."""
        self._sign_in(self.login_mfa_url, {"mfa_token": mfa_token, "code": code})

    def _sign_in(self, url: str, payload: dict) -> None:
        obtained = self._clock()
        body = _http.token_call(
            self._session, url, revoked_means_session=False, json=payload, timeout=self.timeout
        )
        with self._lock:
            self._store(body, obtained)
            self._revoked = None

    def access_token(self) -> str:
        """A valid access token, refreshed first when it is about to expire."""
        current = self._access
        if current is not None and self._clock() < current.renew_at:
            return current.value
        with self._lock:
            latest = self._access
            if latest is None or latest is current or self._clock() >= latest.renew_at:
                self._refresh_locked()
            return self._access.value

    def auth_header(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token()}"}

    def refresh(self) -> None:
        """Exchange the refresh token now (say after a 401 from a service)."""
        with self._lock:
            self._refresh_locked()

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Call a service as the user; a 401 for the token gets one refresh and one retry.

        Raises SessionRevoked when that refresh is refused. Many threads rejected with the
        same token share one refresh.
        """
        kwargs.setdefault("timeout", self.timeout)
        headers = dict(kwargs.pop("headers", None) or {})
        used = self.access_token()
        response = self._session.request(
            method, url, headers={**headers, "Authorization": f"Bearer {used}"}, **kwargs
        )
        if response.status_code != 401 or "Bearer" not in response.headers.get(
            "WWW-Authenticate", ""
        ):
            return response
        with self._lock:
            current = self._access
            if current is None or current.value == used:
                self._refresh_locked()
            fresh = self._access.value
        return self._session.request(
            method, url, headers={**headers, "Authorization": f"Bearer {fresh}"}, **kwargs
        )

    def logout(self) -> None:
        """End the session in Warden and forget the tokens."""
        with self._lock:
            refresh, self._refresh, self._access = self._refresh, None, None
        if refresh:
            # An already-ended session is what logout wanted: not an error.
            with contextlib.suppress(SessionRevoked):
                _http.token_call(
                    self._session,
                    self.logout_url,
                    revoked_means_session=True,
                    json={"refresh_token": refresh},
                    timeout=self.timeout,
                )

    def _refresh_locked(self) -> None:
        if self._revoked is not None:
            raise self._revoked
        if self._refresh is None:
            raise NotSignedIn("sign in first")
        obtained = self._clock()
        self.refresh_count += 1
        try:
            body = _http.token_call(
                self._session,
                self.refresh_url,
                revoked_means_session=True,
                json={"refresh_token": self._refresh},
                timeout=self.timeout,
            )
        except SessionRevoked as exc:
            self._refresh, self._access, self._revoked = None, None, exc
            raise
        self._store(body, obtained)

    def _store(self, body: dict, obtained: float) -> None:
        refresh = body.get("refresh_token")
        if not isinstance(refresh, str):
            raise WardenUnavailable("sign-in answered without a refresh_token")
        self._access = _token_from(body, obtained=obtained, renew_before=self.refresh_before)
        self._refresh = refresh
