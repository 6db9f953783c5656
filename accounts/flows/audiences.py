"""Resource servers and what a grant may ask for: audiences (RFC 8707) and scopes."""

from __future__ import annotations

from accounts import errors, tokens
from accounts.audit import audit_record
from accounts.models import AuthSession, ResourceServer, ServiceClient, User
from accounts.tokens import Audience, Grant

PROFILE_CLAIMS = tuple(ResourceServer.Claim.values)


def resource_server_create(
    *,
    identifier: str,
    scopes: list[str],
    claims: list[str] | None = None,
    lifetime: int | None = None,
    algorithm: str = "",
    actor: User | None = None,
) -> ResourceServer:
    if identifier == tokens.default_audience().identifier:
        raise ValueError(f"{identifier!r} is Warden's own audience (WARDEN_AUDIENCE).")
    unknown = set(claims or ()) - set(PROFILE_CLAIMS)
    if unknown:
        raise ValueError(f"Unknown claims {sorted(unknown)}; known: {list(PROFILE_CLAIMS)}.")
    server = ResourceServer.objects.create(
        identifier=identifier,
        scopes=sorted(set(scopes)),
        claims=list(dict.fromkeys(claims or ())),
        access_token_lifetime=lifetime,
        algorithm=algorithm,
    )
    resource_server_saved(server=server)
    audit_record(type="resource_server_created", user=actor, target=identifier)
    return server


def resource_server_saved(*, server: ResourceServer) -> None:
    """After a save (the admin's too): an audience that pins an algorithm needs a key for it."""
    if server.algorithm:
        tokens.signing_key_for_algorithm_ensure(server.algorithm)


def _audience(resource: str | None, *, client: ServiceClient | None) -> Audience:
    default = tokens.default_audience()
    if not resource or resource == default.identifier:
        return default
    audience = tokens.audience_find(resource)
    if audience is None:
        raise errors.AuthError("invalid_target", f"Unknown resource {resource[:255]!r}.")
    # Anyone may ask for the default audience (so no existing client breaks); an authenticated
    # client only for the audiences it was registered for.
    if client is not None and audience.identifier not in client.allowed_audiences:
        raise errors.AuthError("invalid_target", "The client may not ask for that resource.")
    return audience


def scopes_within(requested: str | None, available) -> tuple[str, ...]:
    """The scopes asked for if all are available (else invalid_scope); none asked: all."""
    return _scopes(requested, tuple(available))


def _scopes(requested: str | None, available: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    if not requested:
        return tuple(sorted(set(available)))
    asked = set(requested.split())
    if not asked <= set(available):
        raise errors.AuthError("invalid_scope", "The client may not request that scope.")
    return tuple(sorted(asked))


def user_grant(*, resource: str | None, scope: str | None, client: ServiceClient | None) -> Grant:
    """What a user sign-in grants: the audience asked for, its scopes (all, or those asked)."""
    audience = _audience(resource, client=client)
    if not audience.registered:
        return Grant(audience)  # Warden's own API: no scopes, as always
    return Grant(audience, _scopes(scope, audience.scopes))


def client_grant(*, resource: str | None, scope: str | None, client: ServiceClient) -> Grant:
    """What client_credentials grants: the client's scopes, within the audience's if it has any."""
    audience = _audience(resource, client=client)
    available = set(client.allowed_scopes)
    if audience.registered and audience.scopes:
        available &= set(audience.scopes)
    return Grant(audience, _scopes(scope, tuple(available)))


def session_grant(*, session: AuthSession) -> Grant:
    """The grant a session was opened with (a resource server deleted since: refused)."""
    if not session.audience:
        return Grant(tokens.default_audience())
    audience = tokens.audience_find(session.audience)
    if audience is None:
        raise errors.invalid_grant("The resource this session was granted for is gone.")
    return Grant(audience, tuple(session.scope.split()))


def refresh_grant(*, session: AuthSession, resource: str | None, scope: str | None) -> Grant:
    """A refresh continues its session's grant: it may narrow the scope, never widen anything.
    Without `resource` it keeps the audience of the grant it continues."""
    granted = session_grant(session=session)
    if resource and resource != granted.audience.identifier:
        raise errors.AuthError(
            "invalid_target", "A refresh may not change the audience of its session."
        )
    if scope is None or granted.scopes is None:
        return granted
    return Grant(granted.audience, _scopes(scope, granted.scopes))


def grant_restore(*, resource: str | None, scope: str | None) -> Grant:
    """The grant an MFA token carried across the second-factor step."""
    if not resource:
        return Grant(tokens.default_audience())
    audience = tokens.audience_find(resource)
    if audience is None:
        raise errors.AuthError("invalid_target", "The resource asked for is gone.")
    return Grant(audience, tuple(scope.split()) if scope else ())
