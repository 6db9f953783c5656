"""Two Warden instances sharing PostgreSQL and Redis behave as one service."""

import base64
import json
import threading
import time

import pytest
import requests
from django.conf import settings

from tests.conftest import PASSWORD
from tests.e2e import harness
from tests.e2e.conftest import LOGIN_ATTEMPTS_LIMIT
from warden_client import TokenVerifier

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
TIMEOUT = 10

ROTATE = """
import json
from django.core.management import call_command
from accounts.models import SigningKey
call_command("rotate_signing_key")
print(json.dumps({"kid": SigningKey.objects.get(state="current").kid}))
"""


def _login(base: str, email: str = "ann@example.com", password: str = PASSWORD):
    return requests.post(
        f"{base}/api/auth/login", json={"email": email, "password": password}, timeout=TIMEOUT
    )


def _verify(base: str, token: str) -> requests.Response:
    return requests.get(
        f"{base}/api/auth/verify", headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
    )


def _kid(token: str) -> str:
    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["kid"]


def _jwks_kids(base: str) -> set[str]:
    keys = requests.get(f"{base}/.well-known/jwks.json", timeout=TIMEOUT).json()["keys"]
    return {key["kid"] for key in keys}


def test_session_revoked_through_one_instance_is_refused_by_the_other_at_once(wardens):
    a, b = wardens["a"], wardens["b"]
    pair = _login(a).json()
    access = pair["access_token"]
    assert _verify(b, access).status_code == 200
    sessions = requests.get(
        f"{b}/api/auth/sessions", headers={"Authorization": f"Bearer {access}"}, timeout=TIMEOUT
    ).json()
    sid = next(s["id"] for s in sessions if s["current"])
    deleted = requests.delete(
        f"{a}/api/auth/sessions/{sid}",
        headers={"Authorization": f"Bearer {access}"},
        timeout=TIMEOUT,
    )
    assert deleted.status_code == 204
    refused = _verify(b, access)  # no waiting: the very next request
    assert refused.status_code == 401
    assert refused.json() == {"active": False, "error": "session revoked"}
    refresh = requests.post(
        f"{b}/api/auth/refresh", json={"refresh_token": pair["refresh_token"]}, timeout=TIMEOUT
    )
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"


def test_logout_on_one_instance_is_seen_by_every_worker_of_the_other(wardens):
    a, b = wardens["a"], wardens["b"]
    pair = _login(b).json()
    for _ in range(4):  # several requests: both gunicorn workers of A answer
        assert _verify(a, pair["access_token"]).status_code == 200
    requests.post(
        f"{b}/api/auth/logout", json={"refresh_token": pair["refresh_token"]}, timeout=TIMEOUT
    )
    assert [_verify(a, pair["access_token"]).status_code for _ in range(4)] == [401] * 4


def test_failed_logins_split_across_instances_share_one_limit(wardens):
    a, b = wardens["a"], wardens["b"]
    email = "mallory-target@example.com"
    statuses = [
        _login((a, b)[n % 2], email, "wrong-password-123").status_code
        for n in range(LOGIN_ATTEMPTS_LIMIT)
    ]
    assert statuses == [400] * LOGIN_ATTEMPTS_LIMIT
    over = _login((a, b)[LOGIN_ATTEMPTS_LIMIT % 2], email, "wrong-password-123")
    assert over.status_code == 429
    assert over.json()["error"] == "rate_limited"
    # Locked on both instances, even with the right password.
    assert _login(a, email).status_code == 429
    assert _login(b, email).status_code == 429


def test_one_refresh_token_raced_across_both_instances_mints_one_successor(wardens):
    a, b = wardens["a"], wardens["b"]
    refresh = _login(a).json()["refresh_token"]
    barrier = threading.Barrier(10)
    statuses, successors = [], set()

    def exchange(base: str) -> None:
        barrier.wait()
        response = requests.post(
            f"{base}/api/auth/refresh", json={"refresh_token": refresh}, timeout=TIMEOUT
        )
        statuses.append(response.status_code)
        successors.add(response.json().get("refresh_token"))

    threads = [threading.Thread(target=exchange, args=((a, b)[n % 2],)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT + 5)
    # Inside the grace window every racer is answered, all with the one successor.
    assert statuses == [200] * 10
    assert len(successors) == 1


def test_a_rotated_key_is_published_by_both_instances_before_either_signs_with_it(
    wardens, fleet_env
):
    a, b = wardens["a"], wardens["b"]
    before = _login(a).json()["access_token"]
    old_kid = _kid(before)
    sdk = TokenVerifier(
        issuer=fleet_env["env"]["WARDEN_ISSUER"],
        audience=settings.WARDEN_AUDIENCE,
        base_url=b,
    )
    assert sdk.verify(before).email == "ann@example.com"
    # The runbook's command against the shared database.
    new_kid = harness.manage_json(fleet_env["env"], ROTATE)["kid"]
    assert new_kid != old_kid
    minted = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and minted is None:
        for base in (a, b):
            token = _login(base).json()["access_token"]
            if _kid(token) == new_kid:
                minted = token
                # Publish before sign: the moment either signs with it, both publish it.
                assert all({old_kid, new_kid} <= _jwks_kids(other) for other in (a, b))
                break
        time.sleep(0.2)
    assert minted is not None, "the new key never started signing"
    for base in (a, b):
        assert _verify(base, minted).status_code == 200
        assert _verify(base, before).status_code == 200
    # The SDK, which had only the old key, fetches the JWKS of b again for the unknown kid,
    # and b lists it: no window in which a valid token is refused.
    assert sdk.verify(minted).email == "ann@example.com"
    assert sdk.fetch_count == 2


def test_access_log_never_records_query_strings(wardens):
    a = wardens["a"]
    requests.get(f"{a}/api/auth/verify?access_token=SECRET-IN-QUERY-42", timeout=TIMEOUT)
    time.sleep(0.3)
    log = wardens["processes"]["warden_a"].log()
    assert "/api/auth/verify" in log
    assert "SECRET-IN-QUERY-42" not in log
