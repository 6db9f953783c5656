"""API sign-in with a second factor: the mfa_required challenge and POST /api/auth/login/mfa."""

from datetime import timedelta

import jwt
import pytest
from allauth.mfa.models import Authenticator
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import tokens
from accounts.flows import mfa
from accounts.models import AuditEvent, AuthSession, ConsumedToken
from tests.conftest import PASSWORD
from tests.mfa_support import enrol_totp, recovery_codes, role_requiring_mfa, totp_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    client = APIClient()
    client.default_format = "json"
    return client


@pytest.fixture
def secret(user) -> str:
    return enrol_totp(user)


def challenge(api, email: str = "ann@example.com") -> dict:
    response = api.post("/api/auth/login", {"email": email, "password": PASSWORD}, format="json")
    assert response.status_code == 401, response.content
    body = response.json()
    assert body["error"] == "mfa_required"
    return body


def answer(api, mfa_token: str, code: str, **extra):
    return api.post(
        "/api/auth/login/mfa", {"mfa_token": mfa_token, "code": code}, format="json", **extra
    )


def test_user_with_totp_gets_an_mfa_challenge_instead_of_tokens(api, secret):
    body = challenge(api)
    assert body["methods"] == ["totp", "recovery_codes"]
    assert body["error_description"]
    assert "access_token" not in body and "refresh_token" not in body
    header = jwt.get_unverified_header(body["mfa_token"])
    claims = jwt.decode(body["mfa_token"], options={"verify_signature": False})
    assert header["typ"] == "mfa+jwt"
    assert claims["token_type"] == "mfa"
    assert 295 <= claims["exp"] - claims["iat"] <= 300
    assert not AuthSession.objects.exists()


def test_password_grant_also_answers_mfa_required(api, secret):
    response = api.post(
        "/api/auth/token",
        {"grant_type": "password", "username": "ann@example.com", "password": PASSWORD},
    )
    assert response.status_code == 401
    assert response.json()["error"] == "mfa_required"
    assert response.json()["mfa_token"]


def test_wrong_password_never_reveals_whether_mfa_is_set(api, secret):
    response = api.post(
        "/api/auth/login", {"email": "ann@example.com", "password": "wrong-password-1"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert "mfa_token" not in response.json()


def test_real_totp_code_completes_the_sign_in_with_a_usable_token_pair(api, user, secret):
    body = challenge(api)
    response = answer(api, body["mfa_token"], totp_code(secret))
    assert response.status_code == 200, response.content
    pair = response.json()
    assert pair["token_type"] == "Bearer" and pair["refresh_token"]
    me = api.get("/api/auth/me", HTTP_AUTHORIZATION=f"Bearer {pair['access_token']}")
    assert me.status_code == 200 and me.json()["email"] == "ann@example.com"
    session = AuthSession.objects.get(user=user)
    assert session.method == "password+totp"
    assert AuditEvent.objects.filter(
        type="login", actor_user=user, details__method="password+totp"
    ).exists()
    assert response["Cache-Control"] == "no-store"


def test_totp_code_with_spaces_is_accepted(api, secret):
    code = totp_code(secret)
    response = answer(api, challenge(api)["mfa_token"], f"{code[:3]} {code[3:]}")
    assert response.status_code == 200, response.content


def test_a_totp_code_works_once_even_with_a_fresh_mfa_token(api, secret):
    code = totp_code(secret)
    assert answer(api, challenge(api)["mfa_token"], code).status_code == 200
    replay = answer(api, challenge(api)["mfa_token"], code)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"


def test_recovery_code_signs_in_once_and_is_then_used_up(api, user, secret):
    code = recovery_codes(user)[0]
    first = answer(api, challenge(api)["mfa_token"], code)
    assert first.status_code == 200, first.content
    assert AuthSession.objects.get(user=user).method == "password+recovery_codes"
    assert code not in recovery_codes(user)
    again = answer(api, challenge(api)["mfa_token"], code)
    assert again.status_code == 400
    assert again.json()["reason"] == "incorrect_code"


def test_mfa_token_is_single_use(api, user, secret):
    token = challenge(api)["mfa_token"]
    assert answer(api, token, totp_code(secret)).status_code == 200
    codes = recovery_codes(user)
    replay = answer(api, token, codes[0])
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert "already used" in replay.json()["error_description"]
    # The refused replay did not use up the recovery code either.
    assert recovery_codes(user) == codes
    assert AuthSession.objects.filter(user=user).count() == 1


def test_losing_the_race_for_one_mfa_token_gives_the_recovery_code_back(
    api, user, secret, monkeypatch
):
    """Two requests, one mfa_token, two valid codes: the loser's recovery code is not lost."""
    token = challenge(api)["mfa_token"]
    jti = jwt.decode(token, options={"verify_signature": False})["jti"]
    codes = recovery_codes(user)
    check_code = mfa._matching_authenticator

    def rival_spends_the_token_meanwhile(**kwargs):
        found = check_code(**kwargs)
        ConsumedToken.objects.create(jti=jti, kind="mfa", expires_at=timezone.now())
        return found

    monkeypatch.setattr(mfa, "_matching_authenticator", rival_spends_the_token_meanwhile)
    response = answer(api, token, codes[0])
    assert response.status_code == 400
    assert "already used" in response.json()["error_description"]
    assert recovery_codes(user) == codes
    assert not AuthSession.objects.filter(user=user).exists()


def test_wrong_codes_are_audited_and_the_mfa_token_dies_after_the_allowed_attempts(
    api, user, secret
):
    token = challenge(api)["mfa_token"]
    first = answer(api, token, "000000")
    assert first.status_code == 400 and first.json()["reason"] == "incorrect_code"
    assert answer(api, token, "000001").json()["reason"] == "incorrect_code"
    third = answer(api, token, "000002")
    assert third.status_code == 400
    assert third.json()["reason"] == "mfa_token_spent"
    # Even the right code no longer helps: the password must be given again.
    late = answer(api, token, totp_code(secret))
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"
    assert not AuthSession.objects.filter(user=user).exists()
    failures = AuditEvent.objects.filter(type="mfa_failed", actor_user=user)
    assert failures.count() == 3
    assert all(e.outcome == "failure" for e in failures)
    assert all("000000" not in str(e.details) for e in failures)


def test_wrong_codes_across_mfa_tokens_hit_the_per_user_limit_with_429(api, user, secret):
    token = challenge(api)["mfa_token"]
    for bad in ("111111", "222222"):
        assert answer(api, token, bad).status_code == 400
    token = challenge(api)["mfa_token"]
    for bad in ("333333", "444444"):
        assert answer(api, token, bad).status_code == 400
    token = challenge(api)["mfa_token"]
    assert answer(api, token, "555555").status_code == 400
    limited = answer(api, token, totp_code(secret))
    assert limited.status_code == 429
    assert limited.json()["error"] == "rate_limited"
    assert limited.json()["error_description"]
    assert int(limited["Retry-After"]) > 0
    assert AuditEvent.objects.filter(type="mfa_failed", details__reason="rate_limited").exists()


def test_wrong_codes_are_limited_per_ip_across_users(api, make_user):
    for n in range(8):
        enrol_totp(make_user(f"user{n}@example.com"))
    pending = [challenge(api, f"user{n}@example.com")["mfa_token"] for n in range(8)]
    statuses = []
    with override_settings(ACCOUNT_RATE_LIMITS={"login_failed": "10/m/ip,5/300s/key"}):
        for token in pending:
            statuses += [answer(api, token, "999999").status_code for _ in range(2)]
    assert statuses[:10] == [400] * 10
    assert set(statuses[10:]) == {429}


def test_mfa_token_is_refused_by_verify_introspect_and_the_api(api, secret, service_client):
    token = challenge(api)["mfa_token"]
    verify = api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert verify.status_code == 401 and verify.json()["active"] is False
    verify_post = api.post("/api/auth/verify", {"token": token}, format="json")
    assert verify_post.status_code == 401 and verify_post.json()["active"] is False
    client, client_secret = service_client
    introspect = api.post(
        "/api/auth/introspect",
        {"token": token, "client_id": client.client_id, "client_secret": client_secret},
    )
    assert introspect.status_code == 200 and introspect.json() == {"active": False}
    me = api.get("/api/auth/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert me.status_code == 401
    with pytest.raises(tokens.TokenInvalid):
        tokens.access_token_check(raw=token)


def test_mfa_token_cannot_be_used_as_a_refresh_token(api, secret):
    token = challenge(api)["mfa_token"]
    response = api.post("/api/auth/refresh", {"refresh_token": token}, format="json")
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_access_token_cannot_stand_in_for_an_mfa_token(api, make_user):
    make_user("plain@example.com")
    pair = api.post(
        "/api/auth/login", {"email": "plain@example.com", "password": PASSWORD}, format="json"
    ).json()
    response = answer(api, pair["access_token"], "123456")
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_expired_mfa_token_is_refused(api, secret):
    with override_settings(WARDEN_MFA_TOKEN_LIFETIME=timedelta(seconds=-60)):
        token = challenge(api)["mfa_token"]
    response = answer(api, token, totp_code(secret))
    assert response.status_code == 400
    assert "expired" in response.json()["error_description"]


def test_mfa_token_issued_for_a_client_must_be_answered_by_that_client(api, secret, service_client):
    client, client_secret = service_client
    response = api.post(
        "/api/auth/token",
        {
            "grant_type": "password",
            "username": "ann@example.com",
            "password": PASSWORD,
            "client_id": client.client_id,
            "client_secret": client_secret,
        },
    )
    token = response.json()["mfa_token"]
    code = totp_code(secret)
    anonymous = answer(api, token, code)
    assert anonymous.status_code == 400
    assert "another client" in anonymous.json()["error_description"]
    ok = api.post(
        "/api/auth/login/mfa",
        {
            "mfa_token": token,
            "code": code,
            "client_id": client.client_id,
            "client_secret": client_secret,
        },
    )
    assert ok.status_code == 200, ok.content
    assert AuthSession.objects.get().client == client


def test_missing_or_malformed_fields_are_invalid_request(api, secret):
    token = challenge(api)["mfa_token"]
    assert answer(api, token, "").json()["error"] == "invalid_request"
    response = api.post("/api/auth/login/mfa", {"code": "123456"}, format="json")
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    response = api.post("/api/auth/login/mfa", {"mfa_token": token, "code": ["1"]}, format="json")
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    response = api.post("/api/auth/login/mfa", "{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert answer(api, "not-a-jwt", "123456").json()["error"] == "invalid_grant"


def test_deactivated_user_cannot_finish_a_started_mfa_sign_in(api, user, secret):
    token = challenge(api)["mfa_token"]
    user.is_active = False
    user.save()
    response = answer(api, token, totp_code(secret))
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_user_without_factors_signs_in_with_the_password_alone(api, user, login):
    assert login()["access_token"]


def test_role_requiring_mfa_blocks_api_login_until_a_factor_is_set_up(api, user):
    user.groups.add(role_requiring_mfa())
    response = api.post(
        "/api/auth/login", {"email": "ann@example.com", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"] == "mfa_setup_required"
    assert response.json()["error_description"]
    assert not AuthSession.objects.exists()
    grant = api.post(
        "/api/auth/token",
        {"grant_type": "password", "username": "ann@example.com", "password": PASSWORD},
    )
    assert grant.status_code == 403 and grant.json()["error"] == "mfa_setup_required"

    secret = enrol_totp(user)
    token = challenge(api)["mfa_token"]
    assert answer(api, token, totp_code(secret)).status_code == 200


def test_role_policy_does_not_reveal_itself_to_a_wrong_password(api, user):
    user.groups.add(role_requiring_mfa())
    response = api.post(
        "/api/auth/login", {"email": "ann@example.com", "password": "not-the-password"}
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_security_key_only_user_is_told_to_use_the_web(api, user):
    Authenticator.objects.create(user=user, type=Authenticator.Type.WEBAUTHN, data={})
    response = api.post(
        "/api/auth/login", {"email": "ann@example.com", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 401
    assert response.json()["error"] == "mfa_required"
    assert response.json()["methods"] == []
    assert "mfa_token" not in response.json()


def test_totp_secret_is_not_stored_in_clear(user):
    secret = enrol_totp(user)
    stored = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP).data["secret"]
    assert secret not in stored
    seed = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES).data
    assert len(seed["seed"]) > 80  # sealed, not the 80-hex-digit seed itself
