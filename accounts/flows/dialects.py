"""Seed dialects: the other names existing client code calls Warden's one token service by.

The seed documents' code (README "Coming from the seeds") posts to other paths with other
field names; api/dialects.py answers them with the same flows as Warden's own endpoints
(password_login, session_refresh, access_token_check), so every limit, MFA and audit applies.
What a dialect may change is the shape of the answer and the claim names in the access token
(the same claim profiles a resource server can ask for). Each dialect is switched by a
setting, `WARDEN_DIALECT_<NAME>`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from accounts import tokens

DIALECTS = ("seed000", "seed002", "seed003")
# The claim names each dialect's code reads from an access token.
DIALECT_CLAIMS = {"seed003": ("userId", "role")}


def dialect_enabled(*, dialect: str) -> bool:
    return bool(getattr(settings, f"WARDEN_DIALECT_{dialect.upper()}", False))


def dialect_claims(*, dialect: str) -> tuple[str, ...]:
    """The claim names the access tokens a dialect issues carry besides Warden's own: its
    code's names when WARDEN_SEED_CLAIMS_DIALECTS lists it (the one place that decides)."""
    if dialect not in settings.WARDEN_SEED_CLAIMS_DIALECTS:
        return ()
    return DIALECT_CLAIMS.get(dialect, ())


def dialect_grant(*, dialect: str) -> tokens.Grant | None:
    """Warden's default audience, its tokens carrying the dialect's claim names; or None."""
    claims = dialect_claims(dialect=dialect)
    return tokens.Grant(tokens.default_audience()).with_claims(claims) if claims else None


def dialect_token_claims(*, raw: str, dialect: str) -> dict[str, Any]:
    """A live access token's claims as `dialect`'s code reads them; raises TokenInvalid.

    A user token issued elsewhere (Warden's own login, the web) reads the same here: the
    profile's names are added from its `sub` and `roles`, which the signature covers.
    """
    claims = tokens.access_token_check(raw=raw)
    if tokens.subject_type(claims) != "user":
        return claims
    audience = (
        tokens.Grant(tokens.default_audience())
        .with_claims(dialect_claims(dialect=dialect))
        .audience
    )
    extra = tokens.profile_claims(audience, sub=claims["sub"], roles=claims.get("roles", []))
    return {**claims, **extra}
