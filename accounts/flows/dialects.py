"""Seed dialects: the other names existing client code calls Warden's one token service by.

The seed documents' code (README "Coming from the seeds") posts to other paths with other
field names; api/dialects.py answers them with the same flows as Warden's own endpoints
(password_login, session_refresh, access_token_check), so every limit, MFA and audit applies.
What a dialect may change is the shape of the answer and, through one claim profile, the names
in the access token. Each dialect is switched by a setting, `WARDEN_DIALECT_<NAME>`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from accounts import tokens
from accounts.tokens.profiles import profile_claims

DIALECTS = ("seed000", "seed002", "seed003")


def dialect_enabled(*, dialect: str) -> bool:
    return bool(getattr(settings, f"WARDEN_DIALECT_{dialect.upper()}", False))


def dialect_claim_profile(*, dialect: str) -> str | None:
    """The claim profile of the access tokens a dialect issues, or None for Warden's own.

    The one place that decides it: today WARDEN_SEED_CLAIMS_DIALECTS lists the dialects whose
    tokens carry their code's claim names (the profile is named after the dialect).
    """
    return dialect if dialect in settings.WARDEN_SEED_CLAIMS_DIALECTS else None


def dialect_token_claims(*, raw: str, dialect: str) -> dict[str, Any]:
    """A live access token's claims as `dialect`'s code reads them; raises TokenInvalid.

    A user token issued elsewhere (Warden's own login, the web) reads the same here: the
    profile's names are added from its `sub` and `roles`, which the signature covers.
    """
    claims = tokens.access_token_check(raw=raw)
    if tokens.subject_type(claims) != "user":
        return claims
    profile = dialect_claim_profile(dialect=dialect)
    return {**claims, **profile_claims(profile, sub=claims["sub"], roles=claims.get("roles", []))}
