"""Claim profiles: the extra claims some callers' code reads from a user's access token.

Warden's own claims (RFC 9068 plus `email`, `roles`, `sid`) are in every user token; a profile
adds names that existing code expects, computed from those, never different facts. `seed003`
is what the seed document 003's gateway reads: `userId` (= `sub`) and one `role`.
"""

from __future__ import annotations

from typing import Any

PRIMARY_ROLE = "admin"


def primary_role(roles: list[str]) -> str | None:
    """The one role of code that knows one: `admin` when held, else the first (roles sort)."""
    if PRIMARY_ROLE in roles:
        return PRIMARY_ROLE
    return roles[0] if roles else None


def _seed003(*, sub: str, roles: list[str]) -> dict[str, Any]:
    return {"userId": sub, "role": primary_role(roles)}


PROFILES = {"seed003": _seed003}


def profile_claims(profile: str | None, *, sub: str, roles: list[str]) -> dict[str, Any]:
    """The claims `profile` adds to a user's access token (none for None)."""
    if profile is None:
        return {}
    return PROFILES[profile](sub=sub, roles=roles)
