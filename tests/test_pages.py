"""The web pages, through the real allauth views: sign-up, verification, sign-in, account."""

import re

import pytest
from django.core import mail

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_sign_up_verify_email_then_sign_in_shows_account_with_role(client):
    response = client.post(
        "/accounts/signup/",
        {"email": "New@Example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"

    # Unverified: sign-in is held at the verification page, not let in.
    client.logout()
    response = client.post("/accounts/login/", {"login": "new@example.com", "password": PASSWORD})
    assert response.status_code == 302 and "confirm-email" in response["Location"]

    assert len(mail.outbox) >= 1
    link = re.search(r"http://testserver(/accounts/confirm-email/[^/\s]+/)", mail.outbox[-1].body)
    assert link, mail.outbox[-1].body
    assert client.get(link.group(1)).status_code == 200
    response = client.post(link.group(1))
    assert response.status_code == 302

    client.logout()
    response = client.post("/accounts/login/", {"login": "NEW@example.com", "password": PASSWORD})
    assert response.status_code == 302
    page = client.get("/accounts/profile/")
    assert page.status_code == 200
    assert b"new@example.com" in page.content
    assert b'data-testid="roles">user<' in page.content


def test_sign_up_with_an_existing_email_in_other_case_is_refused(client, user):
    response = client.post(
        "/accounts/signup/",
        {"email": "ANN@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    # allauth answers as if it worked (no enumeration) and mails the owner instead.
    from accounts.models import User

    assert User.objects.filter(email__iexact="ann@example.com").count() == 1
    assert response.status_code in (200, 302)


def test_deactivated_user_cannot_sign_in_on_the_web(client, make_user):
    make_user("off@example.com", is_active=False)
    response = client.post("/accounts/login/", {"login": "off@example.com", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/inactive/"
    assert client.get("/accounts/profile/").status_code == 302


def test_sign_in_page_renders_with_form_and_no_google_button_unconfigured(client, settings):
    # The test settings configure Google (against the stand-in); here it is switched off.
    settings.SOCIALACCOUNT_PROVIDERS = {
        "google": {**settings.SOCIALACCOUNT_PROVIDERS["google"], "APPS": []}
    }
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert b'name="password"' in page.content and b"Sign in with Google" not in page.content


def test_account_page_requires_sign_in(client):
    response = client.get("/accounts/profile/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_password_reset_sends_a_mail_for_known_address(client, user):
    response = client.post("/accounts/password/reset/", {"email": "ann@example.com"})
    assert response.status_code == 302
    assert any("ann@example.com" in m.to for m in mail.outbox)
