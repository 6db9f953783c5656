"""Warden's JWTs: simplejwt token classes signed and checked through the key ring.

simplejwt supplies the token classes (type claim, `jti`, `exp`/`iat`, lifetimes) and the
`TokenBackend` interface. What Warden replaces, and why: simplejwt's backend holds one key and
reads its algorithm, key, `iss` and `aud` from `SIMPLE_JWT`; Warden signs with whichever key
is current and verifies by `kid` against several live keys, so `KeyRingBackend` takes those
from the key ring and from Warden's own settings (`WARDEN_ISSUER`, `WARDEN_AUDIENCE`), and
each token class declares its header `typ` and lifetime setting. The MFA token, which only
Warden reads, is signed with a secret key no JWKS publishes (`SecretKeyBackend`), so no
service that trusts Warden's public keys can be made to accept it; refresh tokens are not
JWTs at all (accounts/tokens/opaque.py).
"""

from __future__ import annotations

from typing import Any

import jwt
from django.conf import settings
from django.utils import timezone
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenBackendExpiredToken
from rest_framework_simplejwt.tokens import Token

from accounts.models import AuthSession, ServiceClient
from accounts.tokens import secrets
from accounts.tokens.audience import ANY_AUDIENCE, Audience, Grant, profile_claims, token_lifetime
from accounts.tokens.keyring import keyring

ACCESS_TYP = "at+jwt"
MFA_TYP = "mfa+jwt"
_SECRET_ALGORITHM = "HS256"
# Headers that would let a token name its own verification key: never honoured, always refused.
FORBIDDEN_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c"})


class TokenInvalid(Exception):
    """A presented token is not acceptable; `reason` is safe to show the caller."""

    def __init__(self, reason: str = "invalid token") -> None:
        super().__init__(reason)
        self.reason = reason


# Parsed headers by their encoded segment. Every token one key signs has the same header, and
# PyJWT's strict base64 check walks each character in Python: parsing it once per token, not
# twice, is ~90 us of the verify path. Only parsing is skipped: jwt.decode below re-reads the
# whole token and verifies the signature, which covers the header. Cleared when full, so
# junk headers can only cost cache misses.
_HEADERS: dict[str | bytes, dict[str, Any]] = {}
_HEADERS_MAX = 256


def _unverified_header(token: str | bytes) -> dict[str, Any]:
    """The token's header (read-only), parsed strictly by PyJWT the first time it is seen."""
    if not isinstance(token, str | bytes):
        raise jwt.DecodeError("Invalid token type")
    if isinstance(token, str) and not token.isascii():  # a lone surrogate would not encode
        raise jwt.DecodeError("A JWT is ASCII")
    segment = token.partition("." if isinstance(token, str) else b".")[0]
    header = _HEADERS.get(segment)
    if header is None:
        header = jwt.get_unverified_header(token)
        if len(_HEADERS) >= _HEADERS_MAX:
            _HEADERS.clear()
        _HEADERS[segment] = header
    return header


class KeyRingBackend(TokenBackend):
    """simplejwt backend that signs with the current key and verifies by `kid`."""

    def __init__(self) -> None:
        super().__init__(algorithm="RS256")

    def signing_material(self, algorithm: str = "") -> tuple[Any, str, dict[str, str]]:
        signer = keyring.signer(algorithm)
        return signer.private_key, signer.algorithm, {"kid": signer.kid}

    def verification_material(self, header: dict[str, Any]) -> tuple[str, Any] | None:
        kid = header.get("kid")
        return keyring.public_key(kid) if isinstance(kid, str) else None

    def key_for(self, token: str | bytes, *, typ: str) -> tuple[str, Any]:
        """The pinned algorithm and key that must verify `token`, from its header, which must
        name type `typ` and no key of its own; TokenBackendError otherwise."""
        try:
            header = _unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise TokenBackendError("malformed token") from exc
        if header.get("typ") != typ or FORBIDDEN_HEADERS.intersection(header):
            raise TokenBackendError("wrong token type")
        found = self.verification_material(header)
        if found is None:
            raise TokenBackendError("unknown signing key")
        return found

    def encode(
        self, payload: dict[str, Any], typ: str = "JWT", audience: str = "", algorithm: str = ""
    ) -> str:
        key, algorithm, headers = self.signing_material(algorithm)
        claims = {
            **payload,
            "iss": settings.WARDEN_ISSUER,
            "aud": audience or settings.WARDEN_AUDIENCE,
        }
        return jwt.encode(claims, key, algorithm=algorithm, headers={**headers, "typ": typ})

    def decode(
        self, token: str | bytes, verify: bool = True, typ: str = "JWT", audience: Any = ""
    ) -> dict[str, Any]:
        """`audience`: one identifier, several (any may match), or ANY_AUDIENCE."""
        algorithm, public_key = self.key_for(token, typ=typ)
        options = {"require": ["exp", "iat", "jti", "sub", "iss", "aud", "token_type"]}
        if audience is ANY_AUDIENCE:
            audience, options["verify_aud"] = None, False
        try:
            claims = jwt.decode(
                token,
                public_key,
                algorithms=[algorithm],
                audience=audience or settings.WARDEN_AUDIENCE,
                issuer=settings.WARDEN_ISSUER,
                leeway=settings.WARDEN_CLOCK_LEEWAY,
                options=options,
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenBackendExpiredToken("token expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise TokenBackendError("wrong audience") from exc
        except jwt.InvalidTokenError as exc:
            raise TokenBackendError("invalid token") from exc
        if not isinstance(claims["aud"], str):  # Warden mints one audience per token
            raise TokenBackendError("invalid token")
        return claims


class SecretKeyBackend(KeyRingBackend):
    """Signs with a key derived from the key-encryption key, for tokens only Warden reads."""

    def signing_material(self, algorithm: str = "") -> tuple[Any, str, dict[str, str]]:
        return secrets.derived_key("mfa-tokens"), _SECRET_ALGORITHM, {}

    def verification_material(self, header: dict[str, Any]) -> tuple[str, Any] | None:
        if "kid" in header:
            return None
        return _SECRET_ALGORITHM, secrets.derived_key("mfa-tokens")


backend = KeyRingBackend()


class WardenToken(Token):
    typ = "JWT"
    lifetime_setting = ""
    # Tokens only Warden itself consumes are addressed to Warden (aud = its issuer URL) too,
    # so even a service holding their key that checks just iss, aud and exp refuses them.
    for_warden_only = False
    token_backend = backend
    # Set per token by `addressed`: a resource server's `aud` and signing algorithm.
    for_audience: Audience | None = None
    lifetime_override = None

    @property
    def lifetime(self):
        return getattr(settings, self.lifetime_setting)

    def addressed(self, audience: Audience, *, lifetime=None) -> None:
        """Mint this token for `audience`, living `lifetime` (a timedelta) if given."""
        self.for_audience = audience
        if lifetime is not None:
            self.lifetime_override = lifetime
            self.set_exp(from_time=self.current_time, lifetime=lifetime)

    @classmethod
    def audience(cls) -> str:
        return settings.WARDEN_ISSUER if cls.for_warden_only else settings.WARDEN_AUDIENCE

    def __str__(self) -> str:
        target = self.for_audience
        return self.token_backend.encode(
            self.payload,
            typ=self.typ,
            audience=target.identifier if target else self.audience(),
            algorithm=target.algorithm if target else "",
        )

    @classmethod
    def parse(cls, raw: str | bytes, *, audience: Any = None) -> WardenToken:
        """Decode and check a presented token, or raise TokenInvalid with a safe reason.

        `audience`: what `aud` must be (an identifier, a list of them, or ANY_AUDIENCE);
        None is the class's own (the default audience for access tokens)."""
        token = cls.__new__(cls)
        token.token = raw
        token.current_time = timezone.now()
        expected = cls.audience() if audience is None else audience
        try:
            token.payload = cls.token_backend.decode(raw, typ=cls.typ, audience=expected)
        except TokenBackendExpiredToken as exc:
            raise TokenInvalid("token expired") from exc
        except TokenBackendError as exc:
            raise TokenInvalid(str(exc.args[0])) from exc
        if token.payload.get("token_type") != cls.token_type:
            raise TokenInvalid("wrong token type")
        return token


class AccessToken(WardenToken):
    token_type = "access"
    typ = ACCESS_TYP
    lifetime_setting = "WARDEN_ACCESS_TOKEN_LIFETIME"


class ServiceAccessToken(AccessToken):
    lifetime_setting = "WARDEN_SERVICE_TOKEN_LIFETIME"


class MfaToken(WardenToken):
    """Proves the password step of a sign-in; worth nothing until a second factor is given."""

    token_type = "mfa"
    typ = MFA_TYP
    for_warden_only = True
    token_backend = SecretKeyBackend()
    lifetime_setting = "WARDEN_MFA_TOKEN_LIFETIME"


def _address(token: AccessToken, grant: Grant | None, client: ServiceClient | None) -> None:
    if grant is None:
        return
    audience = grant.audience
    token.addressed(
        audience, lifetime=token_lifetime(token.lifetime, audience=audience, client=client)
    )
    if grant.scopes:
        token["scope"] = grant.scope
    token.payload.update(profile_claims(audience, sub=token["sub"], roles=token["roles"]))


def access_token_for_user(
    *, user, session: AuthSession, roles: list[str], grant: Grant | None = None
) -> AccessToken:
    token = AccessToken()
    token["sub"] = str(user.public_id)
    token["email"] = user.email
    token["roles"] = roles
    token["sid"] = str(session.id)
    client = session.client if session.client_id else None
    if client is not None:
        token["client_id"] = client.client_id
    _address(token, grant, client)
    return token


def access_token_for_client(
    *, client: ServiceClient, scopes: list[str], grant: Grant | None = None
) -> ServiceAccessToken:
    token = ServiceAccessToken()
    token["sub"] = client.client_id
    token["client_id"] = client.client_id
    token["scope"] = " ".join(scopes)
    token["roles"] = []
    _address(token, grant, client)
    return token


def access_token_exchanged(
    *,
    subject: dict[str, Any],
    grant: Grant,
    actor: dict[str, Any],
    lifetime,
    client: ServiceClient | None = None,
) -> AccessToken:
    """A token for `grant`'s audience on behalf of `subject` (verified claims), acted by
    `actor` (RFC 8693 `act`), issued to `client`, living `lifetime` (a timedelta)."""
    token = AccessToken()
    for name in ("sub", "email", "sid"):
        if name in subject:
            token[name] = subject[name]
    token["roles"] = list(subject.get("roles", []))
    if client is not None:
        token["client_id"] = client.client_id
    token["act"] = actor
    token.addressed(grant.audience, lifetime=lifetime)
    if grant.scopes:
        token["scope"] = grant.scope
    token.payload.update(profile_claims(grant.audience, sub=token["sub"], roles=token["roles"]))
    return token


def mfa_token_for_user(
    *, user, method: str, client: ServiceClient | None = None, grant: Grant | None = None
) -> MfaToken:
    """The half-way token of an API sign-in: names the user (and client) awaiting a code, the
    first factor given (`password`, `google`), and the audience and scope asked for."""
    token = MfaToken()
    token["sub"] = str(user.public_id)
    token["method"] = method
    if client is not None:
        token["client_id"] = client.client_id
    if grant is not None and not grant.audience.is_default:
        token["resource"] = grant.audience.identifier
        if grant.scopes is not None:
            token["scope"] = grant.scope
    return token


class Tokens(dict):
    """What a successful grant hands out: the token response body of RFC 6749 §5.1."""

    @classmethod
    def of(cls, *, access: AccessToken, refresh: str | None = None) -> Tokens:
        lifetime = getattr(access, "lifetime_override", None) or access.lifetime
        body = cls(
            access_token=str(access),
            token_type="Bearer",
            expires_in=int(lifetime.total_seconds()),
        )
        if refresh is not None:
            body["refresh_token"] = refresh
        if "scope" in access:
            body["scope"] = access["scope"]
        return body
