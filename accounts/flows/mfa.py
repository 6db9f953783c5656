"""Second factors on top of allauth.mfa: the challenge after a password, the API's second step,
the role policy and resets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest

from accounts import allauth_compat, errors, ratelimit, tokens
from accounts.audit import Caller, audit_failure, audit_record, login_refused
from accounts.flows.audiences import grant_restore
from accounts.flows.sessions import session_start
from accounts.models import ConsumedToken, RolePolicy, ServiceClient, User

# Factors that count as "has a second factor"; recovery codes only ever back one of them up.
PRIMARY_TYPES = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)
# What `POST /api/auth/login/mfa` accepts, in the order it tries them. A WebAuthn assertion
# needs a browser ceremony bound to a web session, so security keys are for the web pages.
API_TYPES = (Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES)
MFA_TOKEN_KIND = "mfa"
DISPLAY_ORDER = ("totp", "webauthn", "recovery_codes")
# allauth stores TOTP secrets and the recovery-code seed as its adapter's encrypt() gives them:
# sealed under the key-encryption key, so a database dump alone is not enough to mint codes.
SEAL_PURPOSE = "mfa-secrets"


@dataclass(frozen=True)
class MfaChallenge:
    """The password was right; a second factor must follow within the mfa_token's lifetime."""

    mfa_token: str
    methods: list[str]

    @property
    def description(self) -> str:
        return (
            "A second factor is required: POST the mfa_token and a code from your authenticator "
            "app (or a recovery code) to /api/auth/login/mfa within "
            f"{int(settings.WARDEN_MFA_TOKEN_LIFETIME.total_seconds())} seconds."
        )

    def body(self) -> dict:
        return {
            "error": "mfa_required",
            "error_description": self.description,
            "mfa_token": self.mfa_token,
            "methods": self.methods,
        }


def secret_seal(text: str) -> str:
    return tokens.secrets.seal(text, purpose=SEAL_PURPOSE)


def secret_unseal(sealed: str) -> str:
    try:
        return tokens.secrets.unseal(sealed, purpose=SEAL_PURPOSE).decode()
    except tokens.secrets.SealBroken as exc:
        raise RuntimeError(
            "An MFA secret cannot be decrypted: WARDEN_KEY_ENCRYPTION_KEY changed?"
        ) from exc


# --- Reads --------------------------------------------------------------------------------------


def user_factor_types(*, user: User) -> list[str]:
    """The kinds of authenticator a user has, in a stable order (totp, webauthn, recovery_codes)."""
    present = set(Authenticator.objects.filter(user=user).values_list("type", flat=True))
    return [kind for kind in DISPLAY_ORDER if kind in present]


def user_has_second_factor(*, user: User) -> bool:
    return Authenticator.objects.filter(user=user, type__in=PRIMARY_TYPES).exists()


def user_requires_mfa(*, user: User) -> bool:
    return RolePolicy.objects.filter(role__user=user, require_mfa=True).exists()


def user_must_set_up_mfa(*, user: User) -> bool:
    """True for a member of a role that requires MFA who has no authenticator app or key yet."""
    return user_requires_mfa(user=user) and not user_has_second_factor(user=user)


# --- API sign-in: the second step ---------------------------------------------------------------


def login_second_factor_gate(
    *,
    user: User,
    method: str,
    caller: Caller,
    client: ServiceClient | None,
    grant: tokens.Grant | None = None,
    factor_types: list[str] | None = None,
    requires_mfa: bool | None = None,
) -> MfaChallenge | None:
    """After a correct password: None if no second factor is needed, else the challenge.
    `factor_types` (as user_factor_types gives them) and `requires_mfa`: when the caller has
    read them already (accounts.flows.login reads them with the other sign-in facts).

    `mfa_setup_required` is a refusal (403), not a challenge: the credentials were right and
    retrying them cannot help; the user must first add a factor on the web pages.
    """
    types = user_factor_types(user=user) if factor_types is None else factor_types
    if not set(types) & set(PRIMARY_TYPES):
        if user_requires_mfa(user=user) if requires_mfa is None else requires_mfa:
            login_refused(caller=caller, user=user, client=client, reason="mfa_setup_required")
            raise errors.AuthError(
                "mfa_setup_required",
                "Your role requires two-factor authentication. Sign in on the web pages, set up "
                "an authenticator app or a security key, then sign in here again.",
                status=403,
            )
        return None
    methods = [t for t in types if t in API_TYPES]
    if not methods:
        raise errors.AuthError(
            "mfa_required",
            "This account's second factor is a security key, which works on the web sign-in "
            "page only.",
            status=401,
            extra={"methods": []},
        )
    token = tokens.mfa_token_for_user(user=user, method=method, client=client, grant=grant)
    audit_record(
        type="mfa_challenge", caller=caller, user=user, client=client, details={"methods": methods}
    )
    return MfaChallenge(mfa_token=str(token), methods=methods)


def _spend(*, jti: str, expires_at: datetime) -> bool:
    """Record the token as used; False if another request already did (unique jti)."""
    try:
        with transaction.atomic():
            ConsumedToken.objects.create(jti=jti, kind=MFA_TOKEN_KIND, expires_at=expires_at)
    except IntegrityError:
        return False
    return True


def _matching_authenticator(*, user: User, code: str) -> Authenticator | None:
    """allauth checks the code: TOTP (each code once) or an unused recovery code (then used)."""
    candidates = {a.type: a for a in Authenticator.objects.filter(user=user, type__in=API_TYPES)}
    for kind in API_TYPES:
        authenticator = candidates.get(kind)
        if authenticator is not None and authenticator.wrap().validate_code(code):
            return authenticator
    return None


def _failed(*, caller: Caller, user: User, client, reason: str) -> None:
    audit_failure(
        type="mfa_failed",
        caller=caller,
        user=user,
        client=client,
        details={"method": "api", "reason": reason},
    )


def mfa_login_complete(
    *,
    request: HttpRequest,
    mfa_token: str,
    code: str,
    caller: Caller,
    client: ServiceClient | None = None,
    grant: tokens.Grant | None = None,
) -> tokens.Tokens:
    """Finish an API sign-in with a TOTP or recovery code; the mfa_token works exactly once.

    Limits: allauth's per-user and per-IP MFA limit (shared with the web form) answers 429;
    after WARDEN_MFA_TOKEN_ATTEMPTS wrong codes the mfa_token itself is spent and the user must
    give the password again.
    """
    try:
        claims = tokens.MfaToken.parse(mfa_token).payload
    except tokens.TokenInvalid as exc:
        raise errors.invalid_grant("The mfa_token is invalid or expired; sign in again.") from exc
    jti = claims["jti"]
    if claims.get("client_id") != (client.client_id if client else None):
        raise errors.invalid_grant("The mfa_token was issued to another client.")
    user = User.objects.filter(public_id=claims["sub"], is_active=True).first()
    if user is None or ConsumedToken.objects.filter(jti=jti).exists():
        raise errors.invalid_grant("The mfa_token was already used; sign in again.")

    # allauth's own MFA limit (same cache keys as its web form): per user and per IP.
    attempt = allauth_compat.login_failed_consume(request, key=f"mfa-auth-user-{user.pk}")
    if not attempt:
        _failed(caller=caller, user=user, client=client, reason="rate_limited")
        raise errors.AuthError(
            "rate_limited",
            "Too many wrong codes; try again later.",
            status=429,
            retry_after=settings.WARDEN_LOGIN_ATTEMPTS_TIMEOUT,
        )
    # Kept past exp by the leeway parsing allows, so a purge never makes a spent token new again.
    expires_at = datetime.fromtimestamp(claims["exp"], tz=UTC) + timedelta(
        seconds=settings.WARDEN_CLOCK_LEEWAY
    )
    limit = ratelimit.mfa_token_limit()
    used = ratelimit.use(limit, jti)
    if used > limit.limit:
        _spend(jti=jti, expires_at=expires_at)
        raise errors.invalid_grant("Too many wrong codes for this sign-in; sign in again.")

    with transaction.atomic():
        authenticator = _matching_authenticator(user=user, code=code)
        # Spent inside the same transaction: if another request won the race with this token,
        # rolling back also gives back the recovery code this one would have used up.
        if authenticator is not None and not _spend(jti=jti, expires_at=expires_at):
            raise errors.invalid_grant("The mfa_token was already used; sign in again.")

    if authenticator is None:
        _failed(caller=caller, user=user, client=client, reason="incorrect_code")
        if used >= limit.limit:
            _spend(jti=jti, expires_at=expires_at)
            raise errors.AuthError(
                "invalid_grant",
                "Incorrect code. That was the last attempt for this sign-in; sign in again.",
                extra={"reason": "mfa_token_spent"},
            )
        raise errors.AuthError(
            "invalid_grant", "Incorrect code.", extra={"reason": "incorrect_code"}
        )
    # As allauth does for passwords: a success gives back its own attempt but does not wipe
    # the failures before it, so successes cannot be interleaved to reset a guessing run.
    attempt.rollback()
    authenticator.record_usage()
    first = claims.get("method", "password")
    # The audience and scope asked for at the password step, unless the caller says (a dialect).
    grant = grant or grant_restore(resource=claims.get("resource"), scope=claims.get("scope"))
    return session_start(
        user=user,
        method=f"{first}+{authenticator.type}",
        caller=caller,
        client=client,
        grant=grant,
    )


# --- Administration -----------------------------------------------------------------------------


def user_factors_reset(
    *, user: User, actor: User | None = None, caller: Caller | None = None
) -> list[str]:
    """Delete every authenticator of a user (lost phone): they sign in with the password alone,
    or are asked to set a factor up again if their role requires one."""
    types = user_factor_types(user=user)
    Authenticator.objects.filter(user=user).delete()
    audit_record(
        type="mfa_reset",
        caller=caller,
        user=actor,
        target=str(user.public_id),
        details={"removed": types, "subject": user.email},
    )
    return types
