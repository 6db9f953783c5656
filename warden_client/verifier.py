"""Local verification of Warden access tokens against the published JWKS."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import jwt
import requests

from warden_client import _http
from warden_client.errors import InvalidToken, TokenExpired, TokenRevoked, WardenUnavailable
from warden_client.feed import RevocationFeed
from warden_client.identity import Identity

log = logging.getLogger("warden_client")

ACCESS_TYPES = frozenset({"at+jwt", "application/at+jwt"})  # RFC 9068 §2.1
# Headers that would let a token name its own verification key: refused outright.
FORBIDDEN_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c"})
KEY_TYPES = {"RS256": ("RSA", None), "ES256": ("EC", "P-256")}
MAX_TOKEN_LENGTH = 16 * 1024
MAX_HEADER_ENTRIES = 256


SIGNERS = {name: jwt.algorithms.get_default_algorithms()[name] for name in KEY_TYPES}


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class TokenVerifier:
    """Checks access tokens without calling Warden per request; safe to share between threads.

    Keys come from the JWKS, fetched on first use and kept; a token naming an unknown `kid`
    triggers a re-fetch at most every `min_refetch_interval` seconds, so a key rotated in
    Warden is trusted at once while a flood of made-up kids costs Warden nothing. Each key
    verifies only with its own algorithm (RS256 or ES256). Verified tokens are remembered (a
    bounded LRU keyed by the token string, each entry dropped when the token expires), so a
    token presented again costs a dictionary lookup instead of a signature check.

    Alone, local verification cannot see revocation (logout, a revoked session) before the
    token expires: give it `revocation_feed=RevocationFeed(client_id=..., client_secret=...)`
    (a receiver's credentials, scope `ssf:poll`) to refuse revoked tokens within about a
    second, or pass `online=True` to `verify`, at the cost of one call per token.
    """

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        base_url: str | None = None,
        jwks_url: str | None = None,
        jwks: dict | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        leeway: int = 30,
        algorithms: Iterable[str] = ("RS256", "ES256"),
        min_refetch_interval: float = 5.0,
        jwks_max_age: float = 300.0,
        cache_size: int = 10_000,
        timeout: Any = _http.DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
        revocation_feed: RevocationFeed | None = None,
    ) -> None:
        if not issuer or not audience:
            raise ValueError("TokenVerifier needs the expected issuer and audience.")
        self.issuer = issuer
        self.audience = audience
        self.base_url = base = (base_url or issuer).rstrip("/")
        self.jwks_url = jwks_url or f"{base}/.well-known/jwks.json"
        self.introspection_url = f"{base}/api/auth/introspect"
        self.verify_url = f"{base}/api/auth/verify"
        self._client = (client_id, client_secret) if client_id and client_secret else None
        self.leeway = leeway
        self.algorithms = tuple(a for a in algorithms if a in KEY_TYPES)
        if not self.algorithms:
            raise ValueError(f"algorithms must include one of {sorted(KEY_TYPES)}")
        self.min_refetch_interval = min_refetch_interval
        self.jwks_max_age = jwks_max_age
        self.cache_size = cache_size
        self.timeout = timeout
        self._session = session or _http.new_session("warden-client/verifier")
        self._clock = clock
        # Swapped whole, never mutated in place, so readers need no lock.
        self._keys: dict[str, tuple[str, Any]] | None = None
        self._headers: dict[str, tuple[str, Any]] = {}
        self._fetch_lock = threading.Lock()
        self._last_fetch_attempt = float("-inf")
        self._last_fetch_ok = float("-inf")
        self._last_miss_fetch = float("-inf")  # the rate limit counts only unknown-kid fetches
        self._cache: OrderedDict[str, tuple[Identity, float]] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.fetch_count = 0
        if jwks is not None:
            # Fixed keys (tests, air-gapped services): never fetched, an unknown kid is refused.
            self._keys = self._parse_jwks(jwks)
            self._last_fetch_ok = self._last_fetch_attempt = self._last_miss_fetch = float("inf")
        self.revocation_feed = revocation_feed
        if revocation_feed is not None:
            revocation_feed.start(self)

    # --- Public API -----------------------------------------------------------------------------

    def verify(self, token: str | bytes, *, online: bool = False) -> Identity:
        """The identity behind a live access token, or InvalidToken (TokenExpired, ...).

        With `online=True` Warden is also asked (introspection when this verifier has client
        credentials, else /api/auth/verify), so a revoked session raises TokenRevoked at once.
        """
        if isinstance(token, bytes):
            token = token.decode("ascii", "replace")
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken("malformed token")
        identity = self._verified(token)
        if self.revocation_feed is not None:
            self.revocation_feed.check(identity)
        if online:
            self._check_online(token)
        return identity

    def refresh_keys(self) -> None:
        """Fetch the JWKS now (for example at start-up, to fail fast when Warden is away)."""
        with self._fetch_lock:
            self._fetch_keys()

    def close(self) -> None:
        """Stop the revocation feed's thread, if there is one."""
        if self.revocation_feed is not None:
            self.revocation_feed.close()

    @property
    def cached_tokens(self) -> int:
        return len(self._cache)

    def forget(self) -> None:
        """Drop every remembered verification result."""
        with self._cache_lock:
            self._cache.clear()

    # --- Verification ---------------------------------------------------------------------------

    def _verified(self, token: str) -> Identity:
        now = self._clock()
        with self._cache_lock:
            hit = self._cache.get(token)
            if hit is not None:
                self._cache.move_to_end(token)
        if hit is not None:
            identity, deadline = hit
            if now <= deadline:
                return identity
            with self._cache_lock:
                self._cache.pop(token, None)
            raise TokenExpired()
        identity = self._decode(token)
        # The same deadline the signature check applies, so a remembered answer never differs.
        deadline = identity.exp + self.leeway
        with self._cache_lock:
            self._cache[token] = (identity, deadline)
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return identity

    def _decode(self, token: str) -> Identity:
        # Written out rather than calling jwt.decode: the header is already checked (and cached
        # per distinct header), so parsing it again, merging options and re-deriving the key
        # would cost as much as the signature check on a new token. The signature itself is
        # still checked by PyJWT's algorithm object for the key's one pinned algorithm.
        signing_input, dot, signature = token.rpartition(".")
        head, dot2, payload = signing_input.partition(".")
        if not dot or not dot2 or "." in payload:
            raise InvalidToken("malformed token")
        found = self._headers.get(head)
        if found is None:
            found = self._key_for_header(head)
        algorithm, key = found
        try:
            valid = SIGNERS[algorithm].verify(
                signing_input.encode("ascii"), key, _b64decode(signature)
            )
            claims = json.loads(_b64decode(payload)) if valid else None
        except (ValueError, binascii.Error, UnicodeError) as exc:
            raise InvalidToken("malformed token") from exc
        if not valid:
            raise InvalidToken("invalid signature")
        if not isinstance(claims, dict):
            raise InvalidToken("malformed token")
        self._check_claims(claims)
        return Identity.from_claims(claims)

    def _check_claims(self, claims: dict) -> None:
        now = self._clock()
        exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf", 0)
        if not all(_is_number(v) for v in (exp, iat, nbf)):
            raise InvalidToken("invalid token")
        if exp <= now - self.leeway:
            raise TokenExpired()
        if iat > now + self.leeway or nbf > now + self.leeway:
            raise InvalidToken("token not yet valid")
        if claims.get("iss") != self.issuer:
            raise InvalidToken("wrong issuer")
        aud = claims.get("aud")
        if not (aud == self.audience or (isinstance(aud, list) and self.audience in aud)):
            raise InvalidToken("wrong audience")
        if claims.get("token_type") != "access" or not isinstance(claims.get("sub"), str):
            raise InvalidToken("wrong token type")

    def _key_for_header(self, head: str) -> tuple[str, Any]:
        try:
            header = json.loads(_b64decode(head))
        except (ValueError, binascii.Error) as exc:
            raise InvalidToken("malformed token") from exc
        if not isinstance(header, dict):
            raise InvalidToken("malformed token")
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in ACCESS_TYPES:
            raise InvalidToken("wrong token type")
        if FORBIDDEN_HEADERS.intersection(header):
            raise InvalidToken("embedded keys are not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("unknown signing key")
        found = self._key(kid)
        if header.get("alg") != found[0]:
            raise InvalidToken("algorithm not allowed for this key")
        headers = self._headers
        if len(headers) >= MAX_HEADER_ENTRIES:
            headers = {}
        self._headers = {**headers, head: found}
        return found

    def _key(self, kid: str) -> tuple[str, Any]:
        keys = self._current_keys()
        found = keys.get(kid)
        if found is not None:
            return found
        with self._fetch_lock:
            found = (self._keys or {}).get(kid)  # another thread may have fetched meanwhile
            if found is None and self._clock() - self._last_miss_fetch >= (
                self.min_refetch_interval
            ):
                self._last_miss_fetch = self._clock()
                self._fetch_keys()
                found = self._keys.get(kid)
        if found is None:
            raise InvalidToken("unknown signing key")
        return found

    def _current_keys(self) -> dict[str, tuple[str, Any]]:
        keys = self._keys
        if keys is None:
            with self._fetch_lock:
                if self._keys is None:
                    if self._clock() - self._last_fetch_attempt < self.min_refetch_interval:
                        raise WardenUnavailable("signing keys not available yet")
                    self._fetch_keys()
                return self._keys
        if self._clock() - self._last_fetch_ok > self.jwks_max_age and self._fetch_lock.acquire(
            blocking=False
        ):
            # Periodic refresh so retired keys leave; one caller does it, a failure keeps the old.
            try:
                self._fetch_keys()
            except WardenUnavailable as exc:
                log.warning("JWKS refresh failed, keeping the keys we have: %s", exc)
            finally:
                self._fetch_lock.release()
        return self._keys

    # --- JWKS -----------------------------------------------------------------------------------

    def _fetch_keys(self) -> None:
        """Caller holds _fetch_lock."""
        self._last_fetch_attempt = self._clock()
        self.fetch_count += 1
        response = _http.call(self._session, "GET", self.jwks_url, timeout=self.timeout)
        if response.status_code != 200:
            raise WardenUnavailable(f"JWKS answered {response.status_code}")
        keys = self._parse_jwks(_http.json_body(response))
        self._keys = keys
        self._headers = {}
        self._last_fetch_ok = self._clock()
        log.info("Fetched %d signing keys from %s", len(keys), self.jwks_url)

    def _drop_key(self, kid: str) -> None:
        """A key Warden retired (the revocation feed says so) verifies nothing from now on."""
        if kid in (self._keys or {}):
            self._keys = {k: v for k, v in self._keys.items() if k != kid}
            self._headers = {}
            self.forget()

    def _parse_jwks(self, body: dict) -> dict[str, tuple[str, Any]]:
        keys: dict[str, tuple[str, Any]] = {}
        for jwk in body.get("keys") or ():
            parsed = self._parse_jwk(jwk)
            if parsed is not None:
                keys[parsed[0]] = parsed[1]
        return keys

    def _parse_jwk(self, jwk: Any) -> tuple[str, tuple[str, Any]] | None:
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
            return None
        if jwk.get("use", "sig") != "sig":
            return None
        algorithm = jwk.get("alg") or ("RS256" if jwk.get("kty") == "RSA" else "ES256")
        if algorithm not in self.algorithms:
            return None
        kty, crv = KEY_TYPES[algorithm]
        if jwk.get("kty") != kty or (crv and jwk.get("crv") != crv):
            return None
        try:
            key = jwt.PyJWK(jwk, algorithm).key
        except jwt.PyJWTError:
            log.warning("Skipping unusable JWK %s", jwk.get("kid"))
            return None
        return jwk["kid"], (algorithm, key)

    # --- Online check ---------------------------------------------------------------------------

    def _check_online(self, token: str) -> None:
        if self._client:
            response = _http.call(
                self._session,
                "POST",
                self.introspection_url,
                data={"token": token, "token_type_hint": "access_token", "audience": self.audience},
                auth=_http.basic_auth(*self._client),
                timeout=self.timeout,
            )
            if response.status_code != 200:
                raise WardenUnavailable(f"introspection answered {response.status_code}")
        else:
            response = _http.call(
                self._session,
                "POST",
                self.verify_url,
                json={"token": token},
                headers={"X-Warden-Audience": self.audience},
                timeout=self.timeout,
            )
            if response.status_code not in (200, 401):
                raise WardenUnavailable(f"verify answered {response.status_code}")
        if _http.json_body(response).get("active") is not True:
            with self._cache_lock:
                self._cache.pop(token, None)
            raise TokenRevoked()
