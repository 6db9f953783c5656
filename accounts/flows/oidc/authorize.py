"""The authorization endpoint's decisions: is the request valid, who signed in and how,
is consent due, and the one-minute, one-time authorization code."""

from __future__ import annotations

import hashlib
import re
import secrets as random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts import allauth_compat
from accounts.audit import Caller, audit_record
from accounts.flows.oidc.clients import SCOPES, oidc_client_get
from accounts.models import User
from oidc.models import AuthorizationCode, Consent, OidcClient, PushedRequest

CODE_LIFETIME = timedelta(seconds=60)
PUSHED_LIFETIME = timedelta(seconds=60)
REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
PROMPTS = frozenset({"none", "login", "consent", "select_account"})
# RFC 7636 §4.2: a challenge is base64url; an S256 one is exactly 43 characters.
_S256_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
_MAX_PARAM = 2000
# allauth's authentication records -> RFC 8176 `amr` values. First factor: "pwd" (password) or
# "fed" (Google); then the second: "otp" (authenticator app or recovery code), "hwk" (a
# security key / passkey). So ["pwd"], ["pwd", "otp"], ["pwd", "hwk"], ["fed"], ["fed", "otp"].
_FIRST_FACTOR = {"password": "pwd", "socialaccount": "fed"}
_SECOND_FACTOR = {"totp": "otp", "recovery_codes": "otp", "webauthn": "hwk"}


class AuthorizeRefused(Exception):
    """An authorization request refused. With `redirect_uri` the error goes back to the app
    (RFC 6749 §4.1.2.1); without (unknown client, unregistered redirect_uri) it is a 400 page,
    never a redirect."""

    def __init__(self, error: str, description: str, *, redirect_uri: str = "", state: str = ""):
        super().__init__(f"{error}: {description}")
        self.error, self.description = error, description
        self.redirect_uri, self.state = redirect_uri, state

    def redirect_url(self) -> str:
        params = {"error": self.error, "error_description": self.description}
        if self.state:
            params["state"] = self.state
        return redirect_with(self.redirect_uri, params)


@dataclass(frozen=True)
class AuthorizationRequest:
    client: OidcClient
    redirect_uri: str
    scopes: list[str]
    state: str = ""
    nonce: str = ""
    code_challenge: str = ""
    prompt: frozenset[str] = frozenset()
    max_age: int | None = None
    login_hint: str = ""
    pushed: PushedRequest | None = None
    params: dict[str, str] = field(default_factory=dict)

    def refuse(self, error: str, description: str) -> AuthorizeRefused:
        return AuthorizeRefused(
            error, description, redirect_uri=self.redirect_uri, state=self.state
        )


def redirect_with(uri: str, params: dict[str, str]) -> str:
    """`uri` with `params` added to its query (its own query kept), and `iss` (RFC 9207)."""
    parts = urlsplit(uri)
    query = urlencode({**params, "iss": settings.WARDEN_ISSUER})
    query = f"{parts.query}&{query}" if parts.query else query
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def _single(params, name: str) -> str:
    value = params.get(name, "")
    if not isinstance(value, str) or len(value) > _MAX_PARAM or "\x00" in value:
        raise ValueError(name)
    return value


def authorization_request_parse(
    *, params, pushing: OidcClient | None = None
) -> AuthorizationRequest:
    """Check an authorization request against its client: query parameters, or parameters
    being pushed by the authenticated client `pushing` (RFC 9126 §2.1)."""
    try:
        raw = {name: _single(params, name) for name in params}
    except ValueError as exc:
        raise AuthorizeRefused("invalid_request", f"The {exc} parameter is invalid.") from exc
    oidc = pushing or oidc_client_get(raw.get("client_id"))
    if oidc is None or raw.get("client_id") != oidc.client.client_id:
        raise AuthorizeRefused("invalid_client", "Unknown client_id.")
    pushed = None
    if pushing is not None and "request_uri" in raw:
        raise AuthorizeRefused("invalid_request", "request_uri cannot be pushed.")
    if raw.get("request_uri"):
        pushed = pushed_request_get(client=oidc, request_uri=raw["request_uri"])
        raw = {**pushed.params, "client_id": raw["client_id"]}
    redirect_uri = raw.get("redirect_uri", "")
    if redirect_uri not in oidc.redirect_uris:
        raise AuthorizeRefused("invalid_request", "The redirect_uri is not registered.")
    state = raw.get("state", "")

    def refuse(error: str, description: str) -> AuthorizeRefused:
        return AuthorizeRefused(error, description, redirect_uri=redirect_uri, state=state)

    if oidc.require_par and pushed is None and pushing is None:
        raise refuse("invalid_request", "This client must push its requests (PAR).")
    if "request" in raw:
        raise refuse("request_not_supported", "Request objects are not supported.")
    if raw.get("response_type") != "code":
        raise refuse("unsupported_response_type", "Only response_type=code is supported.")
    if "authorization_code" not in oidc.grant_types:
        raise refuse("unauthorized_client", "This client may not use the code flow.")
    scopes = list(dict.fromkeys(raw.get("scope", "").split()))
    allowed = set(oidc.client.allowed_scopes) & set(SCOPES)
    if not scopes or not set(scopes) <= allowed:
        raise refuse("invalid_scope", f"Allowed scopes: {' '.join(sorted(allowed))}.")
    challenge, method = raw.get("code_challenge", ""), raw.get("code_challenge_method", "")
    if challenge or method:
        if method != "S256":  # absent means `plain` (RFC 7636 §4.3), which is refused
            raise refuse("invalid_request", "code_challenge_method must be S256.")
        if not _S256_CHALLENGE.match(challenge):
            raise refuse("invalid_request", "The code_challenge is not an S256 challenge.")
    elif oidc.public:
        raise refuse("invalid_request", "A public client must use PKCE (S256).")
    prompt = frozenset(raw.get("prompt", "").split())
    if not prompt <= PROMPTS or ("none" in prompt and len(prompt) > 1):
        raise refuse("invalid_request", "The prompt parameter is invalid.")
    max_age = raw.get("max_age")
    if max_age is not None and not (max_age.isdigit() and len(max_age) < 10):
        raise refuse("invalid_request", "max_age must be a number of seconds.")
    return AuthorizationRequest(
        client=oidc,
        redirect_uri=redirect_uri,
        scopes=scopes,
        state=state,
        nonce=raw.get("nonce", ""),
        code_challenge=challenge,
        prompt=prompt,
        max_age=int(max_age) if max_age is not None else None,
        login_hint=raw.get("login_hint", ""),
        pushed=pushed,
        params=raw,
    )


# --- Who signed in, and how -----------------------------------------------------------------


def web_authentication(*, request: HttpRequest, user: User) -> tuple[datetime, list[str]]:
    """When the Warden web session's user last authenticated, and with what (`amr`)."""
    records = allauth_compat.web_authentication_records(request, user)
    amr: list[str] = []
    moments = []
    for record in records:
        method = record.get("method")
        value = _FIRST_FACTOR.get(method) or (
            _SECOND_FACTOR.get(record.get("type")) if method == "mfa" else None
        )
        if value is None:
            continue
        if value not in amr:
            amr.append(value)
        if isinstance(record.get("at"), int | float):
            moments.append(record["at"])
    if moments:
        return datetime.fromtimestamp(max(moments), tz=UTC), amr
    return user.last_login or timezone.now(), amr


def reauthentication_due(*, request: HttpRequest, req: AuthorizationRequest, user: User) -> bool:
    """prompt=login, or an authentication older than max_age: sign in again, unless that has
    just happened for this very request (Warden marked when it sent the user off)."""
    auth_time, _ = web_authentication(request=request, user=user)
    asked_at = request.session.get("oidc_reauth_asked_at")
    if asked_at is not None and auth_time.timestamp() >= asked_at:
        return False
    if "login" in req.prompt:
        return True
    if req.max_age is not None:
        return (timezone.now() - auth_time).total_seconds() > req.max_age
    return False


def reauthentication_ask(*, request: HttpRequest) -> None:
    request.session["oidc_reauth_asked_at"] = timezone.now().timestamp()


# --- Consent --------------------------------------------------------------------------------


def consent_due(*, user: User, req: AuthorizationRequest) -> bool:
    if req.client.first_party:
        return False
    if "consent" in req.prompt:
        return True
    granted = Consent.objects.filter(user=user, client=req.client.client).first()
    return granted is None or not set(req.scopes) <= set(granted.scopes)


def consent_record(*, user: User, req: AuthorizationRequest, caller: Caller) -> None:
    with transaction.atomic():
        consent, created = Consent.objects.select_for_update().get_or_create(
            user=user, client=req.client.client, defaults={"scopes": sorted(req.scopes)}
        )
        if not created:
            consent.scopes = sorted(set(consent.scopes) | set(req.scopes))
            consent.granted_at = timezone.now()
            consent.save(update_fields=["scopes", "granted_at"])
        audit_record(
            type="oidc_consent",
            caller=caller,
            user=user,
            client=req.client.client,
            target=req.client.client.client_id,
            details={"scopes": sorted(req.scopes)},
        )


# --- The code -------------------------------------------------------------------------------


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def browser_key(request: HttpRequest) -> str:
    """The digest of the Warden web session: what links an app's session to a browser."""
    key = request.session.session_key
    return digest(key) if key else ""


def authorization_code_issue(*, request: HttpRequest, req: AuthorizationRequest, user: User) -> str:
    """Issue a code for a signed-in, consenting user; return where to send the browser."""
    code = f"woc_{random.token_urlsafe(32)}"
    auth_time, amr = web_authentication(request=request, user=user)
    now = timezone.now()
    with transaction.atomic():
        AuthorizationCode.objects.create(
            code_digest=digest(code),
            client=req.client.client,
            user=user,
            redirect_uri=req.redirect_uri,
            scope=" ".join(req.scopes),
            nonce=req.nonce,
            code_challenge=req.code_challenge,
            auth_time=auth_time,
            amr=amr,
            browser_key=browser_key(request),
            created_at=now,
            expires_at=now + CODE_LIFETIME,
        )
        if req.pushed is not None:
            PushedRequest.objects.filter(pk=req.pushed.pk).delete()  # used once
    request.session.pop("oidc_reauth_asked_at", None)
    params = {"code": code}
    if req.state:
        params["state"] = req.state
    return redirect_with(req.redirect_uri, params)


# --- Pushed authorization requests (RFC 9126) ---------------------------------------------


def pushed_request_store(*, client: OidcClient, params: dict[str, str]) -> tuple[str, int]:
    """Check pushed parameters as an authorization request is checked, then keep them."""
    pushed = {k: v for k, v in params.items() if k != "client_secret"}
    authorization_request_parse(params=pushed, pushing=client)
    reference = random.token_urlsafe(32)
    PushedRequest.objects.create(
        reference=reference,
        client=client.client,
        params=pushed,
        expires_at=timezone.now() + PUSHED_LIFETIME,
    )
    return REQUEST_URI_PREFIX + reference, int(PUSHED_LIFETIME.total_seconds())


def pushed_request_get(*, client: OidcClient, request_uri: str) -> PushedRequest:
    reference = request_uri.removeprefix(REQUEST_URI_PREFIX)
    pushed = PushedRequest.objects.filter(
        reference=reference, client=client.client, expires_at__gt=timezone.now()
    ).first()
    if not request_uri.startswith(REQUEST_URI_PREFIX) or pushed is None:
        raise AuthorizeRefused("invalid_request_uri", "The request_uri is unknown or expired.")
    return pushed
