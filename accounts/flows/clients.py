"""Service clients: registration, secrets, authentication and the client-credentials grant."""

from __future__ import annotations

import threading
import time
import uuid

from django.db import transaction
from django.utils import timezone

from accounts import errors, ratelimit, tokens
from accounts.audit import Caller, audit_failure, audit_record
from accounts.events import outbox as events
from accounts.flows.audiences import client_grant
from accounts.flows.client_keys import client_keys_check
from accounts.models import ResourceServer, ServiceClient, User

_DUMMY_DIGEST = "0" * 64
# How long a process may answer client_credentials from a client row it read (see _Recent).
RECENT_SECONDS = 2.0
RECENT_MAX = 1024


def service_client_create(
    *,
    name: str,
    scopes: list[str],
    audiences: list[str] = (),
    exchange: list[str] = (),
    lifetime: int | None = None,
    public_key_pem: str = "",
    jwks_url: str = "",
) -> tuple[ServiceClient, str]:
    """Register a service; the secret is returned once and stored only as a keyed hash.

    `audiences`: the resource servers it may ask tokens for; `exchange`: those it may exchange
    a user's token for (RFC 8693); a public key or JWKS URL lets it sign in with assertions."""
    missing = set(audiences) | set(exchange)
    missing -= set(
        ResourceServer.objects.filter(identifier__in=missing).values_list("identifier", flat=True)
    )
    if missing:
        raise ValueError(f"No resource server {sorted(missing)}: create_resource_server first.")
    if public_key_pem or jwks_url:
        client_keys_check(public_key_pem=public_key_pem, jwks_url=jwks_url)
    secret = tokens.new_secret()
    client = ServiceClient.objects.create(
        name=name,
        client_id=f"svc_{uuid.uuid4().hex[:24]}",
        secret_hash=tokens.secret_digest(secret),
        allowed_scopes=sorted(set(scopes)),
        allowed_audiences=sorted(set(audiences)),
        exchange_audiences=sorted(set(exchange)),
        access_token_lifetime=lifetime,
        public_key_pem=public_key_pem,
        jwks_url=jwks_url,
    )
    audit_record(type="client_created", client=client, target=client.client_id)
    return client, secret


def service_client_rotate_secret(*, client: ServiceClient, actor: User | None = None) -> str:
    secret = tokens.new_secret()
    client.secret_hash = tokens.secret_digest(secret)
    client.secret_rotated_at = timezone.now()
    client.save(update_fields=["secret_hash", "secret_rotated_at"])  # forgets the row (signals)
    audit_record(type="client_secret_rotated", user=actor, client=client, target=client.client_id)
    return secret


@transaction.atomic
def service_client_set_active(*, client: ServiceClient, active: bool) -> None:
    ServiceClient.objects.filter(pk=client.pk).update(is_active=active)
    client.is_active = active
    recent_clients.forget(client.client_id)  # an update() sends no post_save (accounts.signals)
    tokens.mark_client_state(client.client_id, live=active)
    events.service_client_active_changed(client=client, active=active)


class _Recent:
    """Client rows that authenticated lately, by client_id, for the client_credentials grant:
    a service asking for tokens many times a second need not be read each time (the read is
    ~0.6 ms of CPU, half of such a request).

    A row is used for RECENT_SECONDS at most, and only while the revoked set (the one verify
    trusts, accounts/tokens/revocation.py) says its client is live: a deactivation or deletion
    anywhere is refused at once. The secret is still compared, in constant time, with the
    row's digest; one that does not match reads the row again (a rotation elsewhere). This
    process forgets a row the moment it rotates the secret or saves the client (the admin's
    scope, audience and activation changes); other processes within RECENT_SECONDS.
    """

    def __init__(self) -> None:
        self._rows: dict[str, tuple[float, ServiceClient]] = {}
        self._lock = threading.Lock()
        self._forgotten = 0  # counts forget(): a row read before one is not kept

    def get(self, client_id: str) -> ServiceClient | None:
        entry = self._rows.get(client_id)
        if entry is None or time.monotonic() > entry[0]:
            return None
        client = entry[1]
        return client if tokens.revocation.client_is_live(client_id) else None

    def mark(self) -> int:
        return self._forgotten

    def keep(self, client: ServiceClient, *, mark: int) -> None:
        with self._lock:
            if mark != self._forgotten:
                return  # forgotten while it was being read: it may be the old row
            if len(self._rows) >= RECENT_MAX:
                self._rows.pop(next(iter(self._rows)))
            self._rows[client.client_id] = (time.monotonic() + RECENT_SECONDS, client)

    def forget(self, client_id: str) -> None:
        """Now, and again when the change commits (a read meanwhile saw the old row)."""
        self._drop(client_id)
        transaction.on_commit(lambda: self._drop(client_id))

    def _drop(self, client_id: str) -> None:
        with self._lock:
            self._forgotten += 1
            self._rows.pop(client_id, None)

    def clear(self) -> None:
        with self._lock:
            self._forgotten += 1
            self._rows.clear()


recent_clients = _Recent()


def service_client_authenticate(
    *, client_id: str, client_secret: str, caller: Caller, recent: bool = False
) -> ServiceClient:
    """Check a client's secret in constant time; failures are limited per IP.

    Only per IP: a per-client lockout would let anyone lock a service out by spamming wrong
    secrets, and a 256-bit generated secret cannot be guessed anyway. `recent`: a row read
    within the last RECENT_SECONDS will do (client_credentials, see _Recent).
    """
    limit, ip = ratelimit.client_auth_limit(), caller.ip or "unknown"
    exempt = ratelimit.exempt(caller.ip)
    # Before the secret is compared, also for a row in memory: a blocked IP learns nothing.
    if not exempt and (retry := ratelimit.blocked(limit, ip)):
        raise errors.rate_limited(retry)
    use_recent = recent and tokens.cache_is_shared() and bool(client_id)
    known = recent_clients.get(client_id) if use_recent else None
    if known is not None and tokens.secret_matches(client_secret or "", known.secret_hash):
        return known  # else read the row again: the secret may have been rotated elsewhere
    mark = recent_clients.mark()
    # With its OpenID registration, if any, in the same query (client_credentials reads it).
    clients = ServiceClient.objects.select_related("oidc")
    client = clients.filter(client_id=client_id).first() if client_id else None
    # Compare even for an unknown client so timing does not reveal which client ids exist.
    ok = tokens.secret_matches(client_secret or "", client.secret_hash if client else _DUMMY_DIGEST)
    if client is None or not ok or not client.is_active:
        if not exempt:
            ratelimit.record_failure(limit, ip)
        audit_failure(
            type="client_auth", caller=caller, client=client, target=(client_id or "")[:64]
        )
        raise errors.invalid_client()
    if tokens.secrets.digest_is_legacy(client.secret_hash):
        # Stored before digests stopped depending on the key-encryption key: upgrade now.
        ServiceClient.objects.filter(pk=client.pk).update(
            secret_hash=tokens.secret_digest(client_secret)
        )
    elif use_recent:
        recent_clients.keep(client, mark=mark)
    return client


def client_credentials_grant(
    *, client: ServiceClient, scope: str | None, caller: Caller, resource: str | None = None
) -> tokens.Tokens:
    """A service's own token. An OpenID app (which has a secret too) only if it was registered
    for this grant: a web app's secret is for its code exchanges, not a token of its own."""
    oidc = getattr(client, "oidc", None)  # no OpenID registration: None
    if oidc is not None and "client_credentials" not in oidc.grant_types:
        audit_failure(type="grant_not_registered", caller=caller, client=client)
        raise errors.AuthError(
            "unauthorized_client", "This client is not registered for client_credentials."
        )
    grant = client_grant(resource=resource, scope=scope, client=client)
    access = tokens.access_token_for_client(client=client, scopes=list(grant.scopes), grant=grant)
    return tokens.Tokens.of(access=access)
