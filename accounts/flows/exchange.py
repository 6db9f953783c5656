"""Token exchange (RFC 8693): a service acting for a user downstream, an admin acting as one."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

from django.conf import settings

from accounts import errors, selectors, tokens
from accounts.audit import Caller, audit_record
from accounts.flows.audiences import scopes_within
from accounts.models import ADMIN_ROLE, ServiceClient, User

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
# Admin impersonation: the subject is named by the user's public id (`sub`), not a token.
USER_ID_TYPE = "urn:warden:params:oauth:token-type:user-id"
MAX_ACT_DEPTH = 5  # gateway -> orders -> inventory is 2; bounds the token's size


def _target(resource: str | None, audience: str | None) -> str:
    if resource and audience and resource != audience:
        raise errors.invalid_request("Name the target once: resource or audience.")
    target = resource or audience
    if not target:
        raise errors.invalid_request("Name the target service with resource or audience.")
    return target


def _remaining(claims: dict) -> timedelta:
    return timedelta(seconds=max(0, int(claims["exp"] - time.time())))


def _body(access: tokens.AccessToken) -> tokens.Tokens:
    body = tokens.Tokens.of(access=access)
    body["issued_token_type"] = ACCESS_TOKEN_TYPE
    return body


def token_exchange(
    *,
    client: ServiceClient | None,
    subject_token: str,
    subject_token_type: str,
    resource: str | None,
    audience: str | None,
    scope: str | None,
    actor_token: str | None,
    actor_token_type: str | None,
    caller: Caller,
) -> tokens.Tokens:
    """Exchange a user's access token for one addressed to a downstream service.

    The authenticated client is the actor (`act: {"sub": client_id}`, nesting the subject
    token's own `act`); it may exchange tokens addressed to one of its audiences for one of its
    exchange targets, with at most the scopes it holds there. The new token keeps the user's
    `sid`, so it dies with the user's session, and never outlives the subject token.
    """
    if subject_token_type == USER_ID_TYPE:
        return admin_impersonation(
            user_id=subject_token,
            actor_token=actor_token,
            actor_token_type=actor_token_type,
            resource=resource or audience,
            scope=scope,
            caller=caller,
        )
    if subject_token_type != ACCESS_TOKEN_TYPE:
        raise errors.invalid_request("Unsupported subject_token_type.")
    if client is None:
        raise errors.invalid_client("Client authentication is required.")
    if actor_token:
        raise errors.invalid_request(
            "The acting party is the authenticated client: no actor_token."
        )
    if not client.exchange_audiences:
        raise errors.AuthError("unauthorized_client", "The client may not exchange tokens.")
    target = _target(resource, audience)
    try:
        subject = tokens.access_token_check(raw=subject_token, audience=tokens.ANY_AUDIENCE)
    except tokens.TokenInvalid as exc:
        raise errors.invalid_request(f"The subject_token is not acceptable: {exc.reason}.") from exc
    if "sid" not in subject:
        raise errors.invalid_request("Only a user's access token can be exchanged.")
    if subject["aud"] not in client.allowed_audiences:
        raise errors.AuthError(
            "unauthorized_client", "The client may not exchange tokens addressed to that audience."
        )
    if len(tokens.act_chain(subject.get("act"))) >= MAX_ACT_DEPTH:
        raise errors.invalid_request("The delegation chain is too long.")
    found = tokens.audience_find(target) if target in client.exchange_audiences else None
    if found is None:
        raise errors.AuthError("invalid_target", "The client may not exchange for that target.")
    available = set(client.allowed_scopes)
    if found.scopes:
        available &= set(found.scopes)
    grant = tokens.Grant(found, scopes_within(scope, sorted(available)))
    actor = {"sub": client.client_id}
    if "act" in subject:
        actor["act"] = subject["act"]
    lifetime = min(
        tokens.token_lifetime(settings.WARDEN_ACCESS_TOKEN_LIFETIME, audience=found, client=client),
        _remaining(subject),
    )
    access = tokens.access_token_exchanged(
        subject=subject, grant=grant, actor=actor, lifetime=lifetime, client=client
    )
    # Who acted for whom, towards what: the delegation trail an admin reads (no token in it).
    audit_record(
        type="token_exchanged",
        caller=caller,
        client=client,
        target=subject["sub"],
        details={
            "audience": found.identifier,
            "from_audience": subject["aud"],
            "jti": access["jti"],
            "subject_jti": subject["jti"],
            "scope": grant.scope,
            "actors": len(tokens.act_chain(actor)),
        },
    )
    return _body(access)


def admin_impersonation(
    *,
    user_id: str,
    actor_token: str | None,
    actor_token_type: str | None,
    resource: str | None,
    scope: str | None,
    caller: Caller,
) -> tokens.Tokens:
    """An admin acting as a user, through the same grant: `actor_token` is the admin's own
    access token. Audited; lives at most WARDEN_IMPERSONATION_LIFETIME; `act` names the admin;
    bound to the admin's session (`sid`), so the user's own sessions are untouched and the
    admin's sign-out ends it."""
    if not actor_token or actor_token_type != ACCESS_TOKEN_TYPE:
        raise errors.invalid_request("Impersonation needs the admin's access token as actor_token.")
    try:
        actor = tokens.access_token_check(raw=actor_token)
    except tokens.TokenInvalid as exc:
        raise errors.invalid_request(f"The actor_token is not acceptable: {exc.reason}.") from exc
    admin = User.objects.filter(public_id=actor["sub"], is_active=True).first()
    if "sid" not in actor or admin is None or ADMIN_ROLE not in selectors.user_roles(user=admin):
        raise errors.AuthError("unauthorized_client", "Only an admin may act as a user.")
    try:
        user = User.objects.filter(public_id=uuid.UUID(user_id), is_active=True).first()
    except ValueError:
        user = None
    if user is None:
        raise errors.invalid_request("No active user with that id.")
    # Only towards a service: acting as the user on Warden's own API (their sessions) is not
    # something an admin needs, and would let them end the user's sessions as the user.
    if not resource:
        raise errors.invalid_request("Name the target service with resource or audience.")
    found = tokens.audience_find(resource)
    if found is None:
        raise errors.AuthError("invalid_target", "Unknown resource.")
    scopes = scopes_within(scope, found.scopes)
    lifetime = min(settings.WARDEN_IMPERSONATION_LIFETIME, _remaining(actor))
    subject = {
        "sub": str(user.public_id),
        "email": user.email,
        "roles": selectors.user_roles(user=user),
        "sid": actor["sid"],
    }
    access = tokens.access_token_exchanged(
        subject=subject,
        grant=tokens.Grant(found, scopes),
        actor={"sub": actor["sub"], "email": actor.get("email", "")},
        lifetime=lifetime,
    )
    audit_record(
        type="impersonation",
        caller=caller,
        user=admin,
        target=user.email,
        details={
            "subject": str(user.public_id),
            "audience": found.identifier,
            "jti": access["jti"],
            "seconds": int(lifetime.total_seconds()),
        },
    )
    return _body(access)
