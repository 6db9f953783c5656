"""WebAuthn end to end in a real browser: chromium's virtual authenticator and allauth's JS."""

import pytest
from allauth.mfa.models import Authenticator

from accounts.models import AuditEvent
from tests.chromium_cdp import CHROMIUM, Chromium
from tests.conftest import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM, reason="needs chromium: apt-get install chromium"),
]

PASSWORD_FORM = "form:has([name=password])"


@pytest.fixture
def browser():
    chromium = Chromium()
    try:
        yield chromium
    finally:
        chromium.close()


def test_security_key_added_and_used_to_sign_in_through_the_pages_under_csp(
    browser, live_server, transactional_db, make_user
):
    user = make_user()
    # WebAuthn needs a secure context: http://localhost is one, an IP address is not.
    base = live_server.url.replace("127.0.0.1", "localhost")
    browser.send("WebAuthn.enable")
    browser.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "usb",
                "hasResidentKey": False,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )

    browser.goto(f"{base}/accounts/login/")
    browser.wait_for_path("/accounts/login/")
    browser.submit_form({"login": user.email, "password": PASSWORD}, form=PASSWORD_FORM)
    browser.wait_for_path("/accounts/profile/")

    browser.goto(f"{base}/accounts/2fa/webauthn/add/")
    browser.wait_for_path("/accounts/reauthenticate/")
    browser.submit_form({"password": PASSWORD}, form=PASSWORD_FORM)
    browser.wait_for_path("/accounts/2fa/webauthn/add/")
    browser.click("#mfa_webauthn_add")  # allauth's webauthn.js runs navigator.credentials.create
    browser.wait_for_path("/accounts/2fa/recovery-codes/")
    assert Authenticator.objects.filter(user=user, type="webauthn").exists()

    # The TOTP QR code (a data: SVG) really renders under the site's Content-Security-Policy.
    browser.goto(f"{base}/accounts/2fa/totp/activate/")
    browser.wait_for_path("/accounts/2fa/totp/activate/")
    qr_width = browser.evaluate(
        "document.querySelector('img[src^=\"data:image/svg+xml\"]').naturalWidth"
    )
    assert qr_width > 0

    browser.click('form[action="/accounts/logout/"] button')
    browser.wait_for_path("/accounts/login/")
    browser.submit_form({"login": user.email, "password": PASSWORD}, form=PASSWORD_FORM)
    browser.wait_for_path("/accounts/2fa/authenticate/")
    browser.click("#mfa_webauthn_authenticate")  # navigator.credentials.get
    browser.wait_for_path("/accounts/profile/")
    assert browser.evaluate("document.querySelector('[data-testid=email]').textContent") == (
        user.email
    )
    assert AuditEvent.objects.filter(
        type="login", actor_user=user, details__method="password+webauthn"
    ).exists()
