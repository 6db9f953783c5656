"""POST /api/auth/google: ID tokens from Google's SDK, checked against the stand-in's keys."""

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.test import override_settings

from accounts import tokens
from accounts.models import AuditEvent, User
from tests.conftest import PASSWORD
from tests.google_standin import SigningKey, google_sub

pytestmark = pytest.mark.django_db
URL = "/api/auth/google"


def exchange(api, id_token, **extra):
    return api.post(URL, {"id_token": id_token}, format="json", **extra)


def test_good_token_signs_in_a_new_user_with_role_user(api, google):
    response = exchange(api, google.id_token(email="Nia.Okafor@Example.com", name="Nia Okafor"))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "Bearer" and body["refresh_token"]
    assert response["Cache-Control"] == "no-store"
    claims = tokens.access_token_check(raw=body["access_token"])
    user = User.objects.get(email="nia.okafor@example.com")
    assert claims["sub"] == str(user.public_id)
    assert claims["roles"] == ["user"]
    assert (user.first_name, user.last_name) == ("Nia", "Okafor")
    assert not user.has_usable_password()
    assert EmailAddress.objects.get(user=user).verified
    assert SocialAccount.objects.get(user=user).uid == google_sub("nia.okafor@example.com")
    event = AuditEvent.objects.get(type="login", actor_user=user)
    assert event.outcome == "success"
    assert event.details == {"method": "google", "channel": "api"}


def test_same_google_identity_signs_in_to_the_same_account(api, google):
    assert exchange(api, google.id_token(email="ann@example.com")).status_code == 200
    assert exchange(api, google.id_token(email="ann@example.com")).status_code == 200
    assert User.objects.count() == 1 and SocialAccount.objects.count() == 1


def test_token_for_a_mobile_client_id_is_accepted(api, google):
    mobile = "warden-test-ios.apps.googleusercontent.com"
    assert mobile in settings.GOOGLE_CLIENT_IDS
    assert exchange(api, google.id_token(audience=mobile)).status_code == 200


@pytest.mark.parametrize(
    ("bend", "words"),
    [
        ({"audience": "someone-else.apps.googleusercontent.com"}, "for another client"),
        ({"issuer": "https://accounts.example.com"}, "not issued by Google"),
        ({"lifetime": -3600}, "expired"),
    ],
    ids=["wrong-audience", "wrong-issuer", "expired"],
)
def test_token_with_wrong_claims_is_refused_and_creates_nobody(api, google, bend, words):
    response = exchange(api, google.id_token(**bend))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert words in response.json()["error_description"]
    assert not User.objects.exists()
    failure = AuditEvent.objects.get(type="login", outcome="failure")
    assert failure.details == {"method": "google", "reason": "invalid_id_token", "channel": "api"}


def test_token_signed_by_another_key_is_refused(api, google):
    impostor = SigningKey()
    impostor.kid = google.key.kid  # claims Google's key id, but signs with its own key
    response = exchange(api, google.id_token(key=impostor))
    assert response.status_code == 400
    description = response.json()["error_description"]
    assert description == "The Google ID token is not validly signed by Google."
    assert not User.objects.exists()


def test_token_with_an_unknown_key_id_is_refused(api, google):
    response = exchange(api, google.id_token(key=SigningKey()))
    assert response.status_code == 400
    assert "unknown key" in response.json()["error_description"]


@pytest.mark.parametrize("garbage", ["not-a-jwt", "a.b.c", ""])
def test_garbage_is_a_clear_error_not_a_crash(api, google, garbage):
    response = exchange(api, garbage)
    assert response.status_code == 400
    assert response.json()["error"] in ("invalid_grant", "invalid_request")


def test_a_token_without_jti_cannot_be_replayed_by_padding_it(api, google):
    import jwt

    claims = jwt.decode(google.id_token(), options={"verify_signature": False})
    del claims["jti"]
    id_token = google.key.sign(claims)
    assert exchange(api, id_token).status_code == 200
    for variant in (id_token, id_token + "=", id_token + "=="):
        assert exchange(api, variant).status_code == 400


def test_replayed_token_is_refused(api, google):
    id_token = google.id_token()
    assert exchange(api, id_token).status_code == 200

    replay = exchange(api, id_token)

    assert replay.status_code == 400
    assert replay.json() == {
        "error": "invalid_grant",
        "error_description": "This Google ID token was already used.",
        "reason": "replayed",
    }


def test_unverified_email_does_not_connect_to_the_existing_account(api, google, user):
    response = exchange(api, google.id_token(email="ann@example.com", verified=False))

    assert response.status_code == 400
    assert response.json()["reason"] == "email_not_verified"
    assert not SocialAccount.objects.exists()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)  # the owner's account is untouched
    assert User.objects.count() == 1


def test_unverified_email_of_nobody_creates_nobody(api, google):
    response = exchange(api, google.id_token(email="new@example.com", verified=False))
    assert response.status_code == 400 and response.json()["reason"] == "email_not_verified"
    assert not User.objects.exists()


def test_verified_email_connects_google_to_the_existing_account(api, google, user):
    response = exchange(api, google.id_token(email="ANN@example.com"))

    assert response.status_code == 200
    assert tokens.access_token_check(raw=response.json()["access_token"])["sub"] == str(
        user.public_id
    )
    assert SocialAccount.objects.get().user == user
    user.refresh_from_db()
    assert user.check_password(PASSWORD)  # a verified owner keeps their password


def test_connecting_to_an_unverified_local_account_locks_out_the_squatter(api, google, make_user):
    # Someone registered ann's address without proving it; ann then arrives with Google.
    squatter = make_user("ann@example.com", verified=False)

    response = exchange(api, google.id_token(email="ann@example.com"))

    assert response.status_code == 200
    squatter.refresh_from_db()
    assert not squatter.has_usable_password()
    assert EmailAddress.objects.get(user=squatter).verified


def test_inactive_connected_user_is_refused(api, google):
    assert exchange(api, google.id_token(email="gone@example.com")).status_code == 200
    User.objects.filter(email="gone@example.com").update(is_active=False)
    response = exchange(api, google.id_token(email="gone@example.com"))
    assert response.status_code == 400
    assert response.json()["error_description"] == "This account is inactive."


@override_settings(WARDEN_SIGNUP_OPEN=False)
def test_closed_sign_up_creates_nobody(api, google):
    response = exchange(api, google.id_token(email="new@example.com"))
    assert response.status_code == 400 and response.json()["reason"] == "signup_closed"
    assert not User.objects.exists()


def test_missing_id_token_is_invalid_request(api, google):
    response = api.post(URL, {}, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@override_settings(ACCOUNT_RATE_LIMITS={**settings.ACCOUNT_RATE_LIMITS, "google_login": "3/m/ip"})
def test_attempts_are_rate_limited_per_ip(api, google):
    for _ in range(3):
        assert exchange(api, "not-a-jwt").status_code == 400

    response = exchange(api, google.id_token())

    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert response.json()["error"] == "rate_limited"
    assert response.json()["error_description"]
    assert not User.objects.exists()


def test_unreachable_google_keys_answer_503_not_500(api, google, monkeypatch):
    monkeypatch.setitem(
        settings.SOCIALACCOUNT_PROVIDERS["google"], "CERTS_URL", "http://127.0.0.1:9/certs"
    )
    response = exchange(api, google.id_token())
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"
    assert response["Retry-After"]


def test_me_lists_the_connected_google_account(api, google):
    body = exchange(api, google.id_token(email="ann@example.com")).json()

    api.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    me = api.get("/api/auth/me").json()

    assert me["email"] == "ann@example.com"
    assert [(a["provider"], a["uid"]) for a in me["connected_accounts"]] == [
        ("google", google_sub("ann@example.com"))
    ]


def test_endpoint_is_documented_in_the_openapi_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/auth/google"]["post"]
    assert "200" in operation["responses"] and "429" in operation["responses"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_token_raced_from_many_threads_signs_in_exactly_once(google):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection
    from rest_framework.test import APIClient

    id_token = google.id_token(email="race@example.com")

    def attempt(_):
        try:
            return exchange(APIClient(), id_token).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = sorted(pool.map(attempt, range(6)))

    assert codes.count(200) == 1, codes
    assert set(codes) <= {200, 400}
    assert User.objects.filter(email="race@example.com").count() == 1


def test_api_only_setup_with_just_mobile_client_ids_signs_in(api, google, settings):
    mobile = "warden-test-android.apps.googleusercontent.com"
    settings.GOOGLE_CLIENT_IDS = [mobile]
    settings.SOCIALACCOUNT_PROVIDERS = {
        "google": {**settings.SOCIALACCOUNT_PROVIDERS["google"], "APPS": []}
    }
    assert exchange(api, google.id_token(audience=mobile)).status_code == 200
    assert exchange(api, google.id_token()).status_code == 400  # the web client is not listed


def test_no_google_client_configured_refuses_clearly(api, google, settings):
    settings.GOOGLE_CLIENT_IDS = []
    response = exchange(api, google.id_token())
    assert response.status_code == 400
    assert "no Google client id is configured" in response.json()["error_description"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_first_sign_ins_raced_with_different_tokens_make_one_account_and_no_500(google):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection
    from rest_framework.test import APIClient

    id_tokens = [google.id_token(email="twice@example.com") for _ in range(4)]

    def attempt(id_token):
        try:
            return exchange(APIClient(), id_token).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        codes = list(pool.map(attempt, id_tokens))

    # 429: allauth's limiter refuses an attempt while a parallel one holds its lock (clean).
    assert set(codes) <= {200, 400, 429} and 200 in codes, codes
    assert User.objects.filter(email="twice@example.com").count() == 1
    assert SocialAccount.objects.count() == 1


def test_account_with_a_second_factor_still_asks_for_it(api, google, user):
    from tests.mfa_support import enrol_totp

    enrol_totp(user)

    response = exchange(api, google.id_token(email="ann@example.com"))

    assert response.status_code == 401
    assert response.json()["error"] == "mfa_required" and response.json()["mfa_token"]
    assert "access_token" not in response.json()


@override_settings(ACCOUNT_EMAIL_VERIFICATION="optional")
def test_the_squatters_api_sessions_end_when_the_owner_arrives_with_google(api, google, make_user):
    from accounts.models import AuditEvent, AuthSession

    make_user("ann@example.com", verified=False)
    squatter = api.post(
        "/api/auth/login", {"email": "ann@example.com", "password": PASSWORD}, format="json"
    ).json()
    assert exchange(api, google.id_token(email="ann@example.com")).status_code == 200

    verify = api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {squatter['access_token']}")
    assert verify.status_code == 401
    refresh = api.post(
        "/api/auth/refresh", {"refresh_token": squatter["refresh_token"]}, format="json"
    )
    assert refresh.status_code == 400
    assert AuthSession.objects.get(pk=verify_sid(squatter)).revoke_reason == "password_removed"
    assert AuditEvent.objects.filter(type="password_removed").count() == 1


def verify_sid(pair: dict) -> str:
    from tests.helpers import claims_of

    return claims_of(pair["access_token"])["sid"]


def test_a_google_sign_in_finished_with_totp_is_recorded_as_google_and_totp(api, google, user):
    from accounts.models import AuthSession
    from tests.mfa_support import enrol_totp, totp_code

    secret = enrol_totp(user)
    challenge = exchange(api, google.id_token(email="ann@example.com")).json()
    done = api.post(
        "/api/auth/login/mfa",
        {"mfa_token": challenge["mfa_token"], "code": totp_code(secret)},
        format="json",
    )
    assert done.status_code == 200
    assert AuthSession.objects.get(pk=verify_sid(done.json())).method == "google+totp"
