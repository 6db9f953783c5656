"""The verified caller: a user (with roles) or a service (with scopes), read from the claims."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from warden_client.errors import Forbidden


@dataclass(frozen=True)
class Identity:
    """Immutable, so one verified instance can be shared by every thread that sees the token."""

    sub: str
    subject_type: str  # "user" or "service"
    email: str = ""
    roles: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    client_id: str | None = None
    sid: str | None = None
    exp: int = 0
    claims: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # Duck-typing for frameworks that expect a user object (DRF, Django templates).
    is_authenticated = True
    is_anonymous = False
    is_active = True

    @property
    def id(self) -> str:
        return self.sub

    @property
    def is_service(self) -> bool:
        return self.subject_type == "service"

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Identity:
        """Built once per verified token, so kept cheap; `claims` must not be changed after."""
        roles = claims.get("roles")
        scope = claims.get("scope")
        identity = object.__new__(cls)
        # Frozen dataclass __init__ costs a setattr call per field; this is the hot path.
        identity.__dict__.update(
            sub=str(claims["sub"]),
            subject_type="user" if "sid" in claims else "service",
            email=claims.get("email") or "",
            roles=frozenset(r for r in roles if isinstance(r, str))
            if isinstance(roles, list)
            else frozenset(),
            scopes=frozenset(scope.split()) if isinstance(scope, str) else frozenset(),
            client_id=claims.get("client_id"),
            sid=claims.get("sid"),
            exp=int(claims.get("exp") or 0),
            claims=MappingProxyType(claims),
        )
        return identity

    @classmethod
    def from_gateway_headers(cls, headers: Mapping[str, str]) -> Identity | None:
        """What the gateway forwarded (X-User-Id/-Email/-Roles), or None without X-User-Id."""
        sub = (headers.get("X-User-Id") or "").strip()
        if not sub:
            return None
        roles = frozenset(r.strip() for r in (headers.get("X-User-Roles") or "").split(",") if r)
        email = (headers.get("X-User-Email") or "").strip()
        return cls(
            sub=sub,
            subject_type="user" if email else "service",
            email=email,
            roles=frozenset(r for r in roles if r),
        )

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def require(self, *, roles: Iterable[str] = (), scopes: Iterable[str] = ()) -> None:
        """Raise Forbidden unless every role and every scope is present."""
        missing_roles = [r for r in roles if r not in self.roles]
        if missing_roles:
            raise Forbidden(f"requires role {', '.join(missing_roles)}")
        missing_scopes = [s for s in scopes if s not in self.scopes]
        if missing_scopes:
            raise Forbidden(f"requires scope {' '.join(missing_scopes)}")
