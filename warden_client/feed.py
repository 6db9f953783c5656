"""The revocation feed: a local set of revoked sessions, tokens and subjects, kept current by
polling Warden's Shared Signals stream (RFC 8936) from a background thread."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import jwt
import requests

from warden_client import _http
from warden_client.clients import ServiceTokenClient
from warden_client.errors import TokenRevoked, WardenError, WardenUnavailable

if TYPE_CHECKING:
    from warden_client.identity import Identity

log = logging.getLogger("warden_client")

SET_TYP = "secevent+jwt"
SSF_SCOPE = "ssf:poll"
SESSION_REVOKED = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
CREDENTIAL_CHANGE = "https://schemas.openid.net/secevent/caep/event-type/credential-change"
ACCOUNT_DISABLED = "https://schemas.openid.net/secevent/risc/event-type/account-disabled"
TOKEN_REVOKED = "urn:warden:secevent:token-revoked"
SIGNING_KEY_RETIRED = "urn:warden:secevent:signing-key-retired"
FORBIDDEN_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c"})


class RevocationFeed:
    """Give it to `TokenVerifier(revocation_feed=...)` with a receiver's credentials (a
    service client holding the scope `ssf:poll`): the verifier then refuses, with
    TokenRevoked, tokens of a revoked session (`sid`), a revoked token (`jti`), and tokens of a
    disabled account or changed password issued before the change (`sub`, `iat`).

    A daemon thread polls every `interval` seconds (and at once while more events wait), so a
    revocation is refused here about `interval` plus one round trip after Warden made it. Every
    SET is checked with the verifier's keys (signature, `typ`, `iss`, `aud` = `client_id`)
    before it counts; an unverifiable one is reported back (setErrs) and ignored.

    When Warden cannot be reached the feed logs it once, counts `failures`, reports `healthy`
    False and `staleness` (seconds since the last good poll), and keeps what it knows. With
    `fail_closed_after=seconds`, verify raises WardenUnavailable once the feed has been stale
    that long (also before the first good poll), so a stale feed never passes a revoked token.
    Entries are kept `retention` seconds: longer than Warden's access tokens live (15 min).
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        interval: float = 0.25,
        fail_closed_after: float | None = None,
        retention: float = 3600.0,
        max_events: int = 500,
        timeout: Any = (3.05, 5.0),
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not client_id or not client_secret:
            raise ValueError("RevocationFeed needs the receiver's client_id and client_secret.")
        self.client_id = client_id
        self._secret = client_secret
        self.interval = interval
        self.fail_closed_after = fail_closed_after
        self.retention = retention
        self.max_events = max_events
        self.timeout = timeout
        self._session = session or _http.new_session("warden-client/feed")
        self._clock = clock
        self._sids: dict[str, float] = {}  # value: when the entry may be forgotten
        self._jtis: dict[str, float] = {}
        self._subjects: dict[str, tuple[float, float]] = {}  # sub -> (refuse iat below, forget)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._verifier: Any = None  # the TokenVerifier (its keys, issuer, base URL)
        self.poll_url: str | None = None
        self.healthy = False
        self.failures = 0  # failed polls since start: export it as a counter
        self.events_applied = 0
        self.last_success: float | None = None
        self._started_at = clock()
        self._pruned_at = clock()

    # --- Used by TokenVerifier ------------------------------------------------------------------

    def start(self, verifier: Any) -> None:
        self._verifier = verifier
        base = verifier.base_url
        self._tokens = ServiceTokenClient(
            base_url=base,
            client_id=self.client_id,
            client_secret=self._secret,
            scope=SSF_SCOPE,
            session=self._session,
            timeout=self.timeout,
        )
        self._thread = threading.Thread(target=self._run, name="warden-revocation-feed")
        self._thread.daemon = True
        self._thread.start()

    def check(self, identity: Identity) -> None:
        """Raise TokenRevoked if the feed knows this token is revoked (WardenUnavailable if
        the feed is too stale to say, with fail_closed_after set)."""
        if self.fail_closed_after is not None and self.staleness > self.fail_closed_after:
            raise WardenUnavailable(f"revocation feed stale for {self.staleness:.1f}s")
        if identity.sid is not None and identity.sid in self._sids:
            raise TokenRevoked("session revoked")
        claims = identity.claims
        if claims.get("jti") in self._jtis:
            raise TokenRevoked("token revoked")
        before = self._subjects.get(identity.sub)
        if before is not None and claims.get("iat", 0) < before[0]:
            raise TokenRevoked("account disabled or credentials changed")
        act = claims.get("act")  # an exchanged token: the clients that acted, each must be live
        while isinstance(act, dict) and self._subjects:
            before = self._subjects.get(act.get("sub"))
            if before is not None and claims.get("iat", 0) < before[0]:
                raise TokenRevoked("a client that acted in this token was disabled")
            act = act.get("act")

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(self.timeout[1] + 1 if isinstance(self.timeout, tuple) else 10)

    @property
    def staleness(self) -> float:
        """Seconds since the last good poll (since start, before the first)."""
        return self._clock() - (self.last_success or self._started_at)

    # --- The thread -----------------------------------------------------------------------------

    def _run(self) -> None:
        ack: list[str] = []
        errors: dict[str, dict] = {}
        pause = self.interval
        while not self._stop.is_set():
            try:
                more, ack, errors = self._poll(ack, errors)
            except Exception as exc:
                self.failures += 1
                if self.healthy or self.failures == 1:
                    log.warning("Revocation feed unreachable, keeping what it knows: %s", exc)
                self.healthy = False
                pause = min(max(pause * 2, self.interval), 5.0)
                self._stop.wait(pause)
                continue
            if not self.healthy:
                log.info("Revocation feed connected (%s)", self.poll_url)
            self.healthy, self.last_success, pause = True, self._clock(), self.interval
            if self._clock() - self._pruned_at > 60:
                self._prune()
            if not more:
                self._stop.wait(self.interval)

    def _discover(self) -> str:
        base = self._verifier.base_url
        meta = _http.json_body(
            _http.call(
                self._session,
                "GET",
                f"{base}/.well-known/ssf-configuration",
                timeout=self.timeout,
            )
        )
        config_url = meta.get("configuration_endpoint")
        if not isinstance(config_url, str):
            raise WardenUnavailable("SSF metadata names no configuration_endpoint")
        response = _http.call(
            self._session,
            "GET",
            config_url,
            headers=self._tokens.auth_header(),
            timeout=self.timeout,
        )
        if response.status_code != 200:
            raise WardenUnavailable(f"stream configuration answered {response.status_code}")
        config = _http.json_body(response)
        delivery = config.get("delivery") or {}
        url = delivery.get("endpoint_url")
        if delivery.get("method") != "urn:ietf:rfc:8936":
            url = config.get("poll_endpoint_url")
        if not isinstance(url, str):
            raise WardenUnavailable("the stream configuration gives no poll endpoint")
        return url

    def _poll(self, ack: list[str], errors: dict) -> tuple[bool, list[str], dict]:
        if self.poll_url is None:
            self.poll_url = self._discover()
        body = {
            "ack": ack,
            "maxEvents": self.max_events,
            "returnImmediately": True,
            **({"setErrs": errors} if errors else {}),
        }
        response = _http.call(
            self._session,
            "POST",
            self.poll_url,
            json=body,
            headers=self._tokens.auth_header(),
            timeout=self.timeout,
        )
        if response.status_code == 401:
            self._tokens.invalidate()  # expired or revoked: a new one next round
        if response.status_code != 200:
            raise WardenUnavailable(f"poll answered {response.status_code}")
        answer = _http.json_body(response)
        sets = answer.get("sets") or {}
        if not isinstance(sets, dict):
            raise WardenUnavailable("poll answered an unexpected shape")
        next_ack, next_errors = [], {}
        for jti, token in sets.items():
            try:
                self._apply(self._decode(token))
            except (jwt.PyJWTError, WardenError, ValueError, TypeError, KeyError) as exc:
                log.warning("Refusing a SET from the revocation feed: %s", exc)
                next_errors[jti] = {"err": "invalid_request", "description": str(exc)[:200]}
                continue
            next_ack.append(jti)
        return answer.get("moreAvailable") is True, next_ack, next_errors

    def _decode(self, token: str) -> dict:
        header = jwt.get_unverified_header(token)
        if header.get("typ") != SET_TYP or FORBIDDEN_HEADERS.intersection(header):
            raise ValueError("not a secevent+jwt")
        algorithm, key = self._verifier._key(header.get("kid") or "")
        if header.get("alg") != algorithm:
            raise ValueError("algorithm not allowed for this key")
        return jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=self.client_id,
            issuer=self._verifier.issuer,
            options={"require": ["iss", "aud", "iat", "jti"], "verify_exp": False},
        )

    def _apply(self, claims: dict) -> None:
        events = claims["events"]
        subject = claims.get("sub_id") or {}
        if subject.get("format") == "complex":  # RFC 9493 §3.2.1 ... by its members
            subject = subject.get("session") or subject.get("user") or {}
        ident = str(subject.get("id") or "")
        forget = self._clock() + self.retention
        for event_type, event in events.items():
            at = (event or {}).get("event_timestamp", claims["iat"])
            if event_type == SESSION_REVOKED and ident:
                self._sids[ident] = forget
            elif event_type == TOKEN_REVOKED and ident:
                self._jtis[ident] = forget
            elif event_type in (ACCOUNT_DISABLED, CREDENTIAL_CHANGE) and ident:
                # iat has whole seconds. After a password change a token of the same second is
                # left to its session's event, so signing in again right away works; a
                # disabled account has no such sign-in, so its second is refused too.
                below = int(at) + (event_type == ACCOUNT_DISABLED)
                previous = self._subjects.get(ident, (0, 0))[0]
                self._subjects[ident] = (max(previous, below), forget)
            elif event_type == SIGNING_KEY_RETIRED and ident:
                self._verifier._drop_key(ident)
            else:
                continue
            self.events_applied += 1

    def _prune(self) -> None:
        now = self._pruned_at = self._clock()
        self._sids = {k: v for k, v in self._sids.items() if v > now}
        self._jtis = {k: v for k, v in self._jtis.items() if v > now}
        self._subjects = {k: v for k, v in self._subjects.items() if v[1] > now}
