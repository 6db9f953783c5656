"""Sign in with Google on the web: allauth's redirect flow against the stand-in, in-process."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.conf import settings

from accounts.models import AuditEvent, User
from tests.conftest import PASSWORD
from tests.google_standin import AUTH_PARAMS

pytestmark = pytest.mark.django_db


def begin(client) -> str:
    """Press "Sign in with Google": returns where Warden sends the browser (the consent page)."""
    response = client.post("/accounts/google/login/")
    assert response.status_code == 302
    return response["Location"]


def consent(authorize_url: str, *, decision="allow", email="nia@example.com", verified=True):
    """Do what the person does on Google's page; returns Warden's callback path and query."""
    page = requests.get(authorize_url, timeout=5)
    assert page.status_code == 200 and "Allow" in page.text
    query = parse_qs(urlsplit(authorize_url).query)
    form = {name: query[name][0] for name in AUTH_PARAMS if name in query}
    form.update(decision=decision, email=email, name="Nia Okafor")
    if verified:
        form["email_verified"] = "true"
    answer = requests.post(
        f"{settings.GOOGLE_OAUTH_BASE_URL}/o/oauth2/v2/auth",
        data=form,
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 302
    callback = urlsplit(answer.headers["Location"])
    assert callback.netloc == "testserver"
    return f"{callback.path}?{callback.query}"


def test_sign_in_creates_a_user_with_role_user_and_lands_on_the_account_page(client, google):
    authorize_url = begin(client)

    query = parse_qs(urlsplit(authorize_url).query)
    assert authorize_url.startswith(settings.GOOGLE_OAUTH_BASE_URL + "/o/oauth2/v2/auth")
    assert query["state"][0] and query["code_challenge_method"] == ["S256"]
    assert query["client_id"] == [settings.GOOGLE_CLIENT_ID]

    response = client.get(consent(authorize_url, email="Nia@Example.com"))

    assert response.status_code == 302 and response["Location"] == "/accounts/profile/"
    assert google.token_requests == [{"client_id": settings.GOOGLE_CLIENT_ID, "pkce": True}]
    page = client.get("/accounts/profile/")
    assert b'data-testid="email">nia@example.com<' in page.content
    assert b'data-testid="roles">user<' in page.content
    assert b"Google (since" in page.content
    user = User.objects.get(email="nia@example.com")
    assert (user.first_name, user.last_name) == ("Nia", "Okafor")
    assert EmailAddress.objects.get(user=user).verified
    event = AuditEvent.objects.get(type="login", actor_user=user)
    assert event.outcome == "success"
    assert event.details == {"method": "google", "channel": "web"}


def test_consent_denied_ends_on_a_friendly_page_and_leaves_no_user(client, google):
    response = client.get(consent(begin(client), decision="deny"), follow=True)

    assert response.status_code == 200
    assert b"Sign-in cancelled" in response.content
    assert not User.objects.exists() and not SocialAccount.objects.exists()
    assert google.token_requests == []
    assert client.get("/accounts/profile/").status_code == 302  # not signed in


def test_bad_state_ends_on_a_friendly_page_and_the_code_is_never_used(client, google):
    callback = consent(begin(client))
    tampered = callback.replace("state=", "state=x")

    response = client.get(tampered)

    assert response.status_code == 401
    assert b"Sign-in did not work" in response.content
    assert b"Nothing was changed" in response.content
    assert google.token_requests == []
    assert not User.objects.exists()


def test_callback_without_any_sign_in_started_is_refused(client, google):
    response = client.get("/accounts/google/login/callback/?code=abc&state=forged")
    assert response.status_code == 401 and b"Sign-in did not work" in response.content
    assert not User.objects.exists()


def test_failing_token_endpoint_ends_on_a_friendly_page_and_leaves_no_user(client, google):
    callback = consent(begin(client))
    google.fail_token_endpoint = True

    response = client.get(callback)

    assert response.status_code == 401
    assert b"Sign-in did not work" in response.content
    assert len(google.token_requests) == 1
    assert not User.objects.exists() and not SocialAccount.objects.exists()


def test_unverified_google_email_does_not_take_over_an_existing_account(client, google, user):
    response = client.get(consent(begin(client), email="ann@example.com", verified=False))

    assert response.status_code == 401
    assert b"Google has not verified the email address" in response.content
    assert not SocialAccount.objects.exists()
    assert User.objects.count() == 1
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert client.get("/accounts/profile/").status_code == 302  # not signed in as ann
    refusal = AuditEvent.objects.get(type="login", outcome="failure")
    assert refusal.details == {"method": "google", "reason": "email_not_verified", "channel": "web"}


def test_verified_google_email_connects_the_existing_account(client, google, user):
    response = client.get(consent(begin(client), email="ann@example.com"))

    assert response.status_code == 302 and response["Location"] == "/accounts/profile/"
    assert SocialAccount.objects.get().user == user
    assert User.objects.count() == 1
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_google_only_user_can_set_a_password_later(client, google):
    client.get(consent(begin(client), email="nia@example.com"))
    user = User.objects.get(email="nia@example.com")
    assert not user.has_usable_password()

    # The "Password" link leads a user without one to allauth's set-password page.
    assert client.get("/accounts/password/change/")["Location"] == "/accounts/password/set/"
    new_password = "another-horse-battery-7"
    response = client.post(
        "/accounts/password/set/", {"password1": new_password, "password2": new_password}
    )
    assert response.status_code == 302

    client.post("/accounts/logout/")
    credentials = {"login": "nia@example.com", "password": new_password}
    response = client.post("/accounts/login/", credentials)
    assert response.status_code == 302 and response["Location"] == "/accounts/profile/"


def test_sign_in_page_shows_the_google_button_and_lets_forms_lead_to_google(client):
    page = client.get("/accounts/login/")
    assert b"Sign in with Google" in page.content
    # A browser enforces CSP form-action on the redirect after "Continue" is posted, too.
    policy = client.get("/accounts/google/login/")["Content-Security-Policy"]
    assert f"form-action 'self' {settings.GOOGLE_OAUTH_BASE_URL}" in policy


def test_verified_google_email_locks_out_whoever_squatted_that_address(client, google, make_user):
    squatter = make_user("ann@example.com", verified=False)

    response = client.get(consent(begin(client), email="ann@example.com"))

    assert response.status_code == 302 and response["Location"] == "/accounts/profile/"
    squatter.refresh_from_db()
    assert not squatter.has_usable_password()  # the squatter's password no longer works
    assert EmailAddress.objects.get(user=squatter).verified
    assert SocialAccount.objects.get().user == squatter


def test_account_with_a_second_factor_is_asked_for_it_after_google(client, google, user):
    from tests.mfa_support import enrol_totp

    enrol_totp(user)

    response = client.get(consent(begin(client), email="ann@example.com"))

    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/accounts/profile/").status_code == 302  # not signed in yet


@pytest.fixture
def google_not_configured(settings):
    """No GOOGLE_CLIENT_ID/SECRET: the provider is installed but has no app."""
    providers = settings.SOCIALACCOUNT_PROVIDERS
    settings.SOCIALACCOUNT_PROVIDERS = {**providers, "google": {**providers["google"], "APPS": []}}


def test_google_sign_in_answers_404_when_google_is_not_configured(client, google_not_configured):
    assert b"Sign in with Google" not in client.get("/accounts/login/").content
    assert client.get("/accounts/google/login/").status_code == 404
    assert client.post("/accounts/google/login/").status_code == 404
    callback = client.get("/accounts/google/login/callback/?code=abc&state=xyz")
    assert callback.status_code == 404
    assert not User.objects.exists()


def test_google_sign_in_answers_404_when_two_google_apps_leave_it_ambiguous(client, settings):
    google = settings.SOCIALACCOUNT_PROVIDERS["google"]
    apps = [{"client_id": f"web-{n}", "secret": "s", "key": ""} for n in (1, 2)]
    settings.SOCIALACCOUNT_PROVIDERS = {"google": {**google, "APPS": apps}}
    assert client.post("/accounts/google/login/").status_code == 404
