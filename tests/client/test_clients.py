"""ServiceTokenClient and UserTokenClient against a live Warden."""

import threading

import pytest
import requests
from django.conf import settings

from accounts.flows.sessions import session_revoke
from accounts.models import AuthSession
from tests.conftest import PASSWORD
from tests.mfa_support import enrol_totp, totp_code
from warden_client import (
    GrantRefused,
    MfaRequired,
    NotSignedIn,
    RateLimited,
    ServiceTokenClient,
    SessionRevoked,
    TokenRevoked,
    UserTokenClient,
)


def access_lifetime() -> float:
    return settings.WARDEN_ACCESS_TOKEN_LIFETIME.total_seconds()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _together(n: int, fn) -> tuple[list, list]:
    """Run fn in n threads released at the same moment; return (results, exceptions)."""
    barrier = threading.Barrier(n)
    results, errors = [], []

    def run() -> None:
        barrier.wait()
        try:
            results.append(fn())
        except Exception as exc:  # collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    return results, errors


def _token_requests(wire) -> int:
    return sum(1 for line in wire.sent if line.endswith("/api/auth/token"))


# --- ServiceTokenClient ---------------------------------------------------------------------


def test_service_token_is_cached_and_carries_the_requested_scope(service_tokens, wire, verifier):
    first = service_tokens.token()
    assert service_tokens.token() == first
    assert service_tokens.auth_header() == {"Authorization": f"Bearer {first}"}
    assert _token_requests(wire) == 1
    identity = verifier.verify(first)
    assert identity.scopes == {"inventory:read"}


def test_twenty_threads_needing_a_service_token_cause_one_request(service_tokens, wire):
    results, errors = _together(20, service_tokens.token)
    assert errors == []
    assert len(set(results)) == 1 and len(results) == 20
    assert _token_requests(wire) == 1


def test_service_token_is_renewed_before_it_expires(warden, service_client, wire, verifier):
    client, secret = service_client
    clock = Clock()
    tokens = ServiceTokenClient(
        base_url=warden,
        client_id=client.client_id,
        client_secret=secret,
        renew_before=60,
        session=wire,
        clock=clock,
    )
    first = tokens.token()
    lifetime = settings.WARDEN_SERVICE_TOKEN_LIFETIME.total_seconds()
    clock.now += lifetime - 61  # not yet in the last minute, the renewal window
    assert tokens.token() == first
    clock.now += 2  # inside the last minute: renewed, and the new token works
    second = tokens.token()
    assert second != first
    assert verifier.verify(second).is_service
    assert _token_requests(wire) == 2


def test_wrong_client_secret_is_refused_clearly(warden, service_client):
    client, _ = service_client
    tokens = ServiceTokenClient(base_url=warden, client_id=client.client_id, client_secret="no")
    with pytest.raises(GrantRefused) as refused:
        tokens.token()
    assert refused.value.error == "invalid_client" and refused.value.status == 401


def test_scope_the_client_may_not_have_is_refused(warden, service_client):
    client, secret = service_client
    tokens = ServiceTokenClient(
        base_url=warden, client_id=client.client_id, client_secret=secret, scope="billing:all"
    )
    with pytest.raises(GrantRefused) as refused:
        tokens.token()
    assert refused.value.error == "invalid_scope"


# --- UserTokenClient ------------------------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ann(warden, user, wire, clock) -> UserTokenClient:
    client = UserTokenClient(base_url=warden, session=wire, clock=clock)
    client.login("ann@example.com", PASSWORD)
    return client


def _me(warden, client: UserTokenClient):
    return requests.get(f"{warden}/api/auth/me", headers=client.auth_header(), timeout=10)


def test_signed_in_user_calls_an_api_with_the_header(warden, ann):
    response = _me(warden, ann)
    assert response.status_code == 200
    assert response.json()["email"] == "ann@example.com"


def test_auth_header_refreshes_with_rotation_when_the_access_token_nears_expiry(
    warden, ann, clock, wire
):
    first = ann.access_token()
    clock.now += access_lifetime() - 10  # inside the 30 s refresh margin
    second = ann.access_token()
    assert second != first
    assert ann.refresh_count == 1
    assert _me(warden, ann).status_code == 200
    assert sum(1 for line in wire.sent if line.endswith("/api/auth/refresh")) == 1


def test_concurrent_callers_share_one_refresh_and_the_session_survives(warden, ann, clock, user):
    clock.now += access_lifetime()
    results, errors = _together(20, ann.access_token)
    assert errors == []
    assert len(set(results)) == 1
    assert ann.refresh_count == 1
    # Presenting one refresh token twice would have revoked the session: it is still live.
    assert AuthSession.objects.get(user=user).state == AuthSession.State.ACTIVE
    assert _me(warden, ann).status_code == 200


def test_revoked_session_raises_session_revoked_and_keeps_raising(ann, clock, user):
    session = AuthSession.objects.get(user=user)
    session_revoke(session=session, reason="admin")
    clock.now += access_lifetime()
    with pytest.raises(SessionRevoked):
        ann.auth_header()
    with pytest.raises(SessionRevoked):
        ann.auth_header()
    assert not ann.signed_in


def test_login_again_after_revocation_works(warden, ann, clock, user):
    session_revoke(session=AuthSession.objects.get(user=user), reason="admin")
    clock.now += access_lifetime()
    with pytest.raises(SessionRevoked):
        ann.auth_header()
    ann.login("ann@example.com", PASSWORD)
    assert _me(warden, ann).status_code == 200


def test_logout_ends_the_session_for_everyone(warden, ann, verifier):
    access = ann.access_token()
    ann.logout()
    assert not ann.signed_in
    with pytest.raises(NotSignedIn):
        ann.auth_header()
    with pytest.raises(TokenRevoked):
        verifier.verify(access, online=True)


def test_wrong_password_is_a_grant_refusal_and_repeated_failures_are_rate_limited(warden, user):
    client = UserTokenClient(base_url=warden)
    for _ in range(settings.WARDEN_LOGIN_ATTEMPTS_LIMIT):
        with pytest.raises(GrantRefused) as refused:
            client.login("ann@example.com", "wrong-password-1")
        assert refused.value.error == "invalid_grant"
    with pytest.raises(RateLimited) as limited:
        client.login("ann@example.com", PASSWORD)
    assert limited.value.retry_after


def test_auth_header_before_login_says_sign_in_first(warden):
    with pytest.raises(NotSignedIn):
        UserTokenClient(base_url=warden).auth_header()


def test_second_factor_sign_in_raises_mfa_required_then_completes(warden, user):
    secret = enrol_totp(user)
    client = UserTokenClient(base_url=warden)
    with pytest.raises(MfaRequired) as required:
        client.login("ann@example.com", PASSWORD)
    assert "totp" in required.value.methods
    assert not client.signed_in
    client.login_mfa(required.value.mfa_token, totp_code(secret))
    assert _me(warden, client).status_code == 200
