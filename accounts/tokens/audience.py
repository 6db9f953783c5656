"""Whom a token is for: Warden's default audience or a registered resource server (RFC 8707)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from django.conf import settings

from accounts.models import ResourceServer, ServiceClient

# Parse a token whatever its `aud` (revocation, the subject of a token exchange): the caller
# then decides what the audience must be.
ANY_AUDIENCE = object()


@dataclass(frozen=True)
class Audience:
    """What minting a token for one audience needs: its `aud`, scopes, lifetime, claims, alg."""

    identifier: str
    scopes: tuple[str, ...] = ()
    lifetime: int | None = None
    claims: tuple[str, ...] = ()
    algorithm: str = ""
    registered: bool = False

    @property
    def is_default(self) -> bool:
        return self.identifier == settings.WARDEN_AUDIENCE

    @classmethod
    def of(cls, server: ResourceServer) -> Audience:
        return cls(
            identifier=server.identifier,
            scopes=tuple(server.scopes),
            lifetime=server.access_token_lifetime,
            claims=tuple(server.claims),
            algorithm=server.algorithm,
            registered=True,
        )


@dataclass(frozen=True)
class Grant:
    """An audience and the scopes granted for it (None: the token carries no `scope`)."""

    audience: Audience
    scopes: tuple[str, ...] | None = None

    @property
    def scope(self) -> str | None:
        return None if self.scopes is None else " ".join(self.scopes)

    def with_claims(self, claims: tuple[str, ...]) -> Grant:
        """The same grant, its tokens carrying `claims` too (a seed dialect's names)."""
        if not claims:
            return self
        audience = replace(
            self.audience, claims=tuple(dict.fromkeys(self.audience.claims + claims))
        )
        return replace(self, audience=audience)


def default_audience() -> Audience:
    """Warden's own API, and every client that names no resource: never a database row."""
    return Audience(settings.WARDEN_AUDIENCE)


def audience_find(identifier: str) -> Audience | None:
    """The registered resource server `identifier`, as an Audience, or None."""
    server = ResourceServer.objects.filter(identifier=identifier).first()
    return Audience.of(server) if server is not None else None


def token_lifetime(
    base: timedelta, *, audience: Audience, client: ServiceClient | None = None
) -> timedelta:
    """The shortest of the audience's and the client's lifetimes, else `base`."""
    chosen = [
        timedelta(seconds=seconds)
        for seconds in (audience.lifetime, client.access_token_lifetime if client else None)
        if seconds
    ]
    return min(chosen) if chosen else base


PRIMARY_ROLE = "admin"


def primary_role(roles: list[str]) -> str | None:
    """The one role of code that knows one: `admin` when held, else the first (roles sort)."""
    if PRIMARY_ROLE in roles:
        return PRIMARY_ROLE
    return roles[0] if roles else None


def profile_claims(audience: Audience, *, sub: str, roles: list[str]) -> dict:
    """The extra claims the audience's claim profile asks for (e.g. userId, a single role):
    names existing code reads, computed from Warden's own claims, never different facts."""
    extra = {}
    if "userId" in audience.claims:
        extra["userId"] = sub
    if "role" in audience.claims and roles:
        extra["role"] = primary_role(roles)
    return extra
