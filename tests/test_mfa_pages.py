"""Second factors on the web pages: set-up, sign-in, the role policy, the admin, WebAuthn."""

import base64
import re

import pytest
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import Group

from accounts.models import AuditEvent, RolePolicy
from tests.conftest import PASSWORD
from tests.mfa_support import (
    SoftwareAuthenticator,
    enrol_totp,
    recovery_codes,
    role_requiring_mfa,
    totp_code,
)

pytestmark = pytest.mark.django_db

AUTHENTICATE = "/accounts/2fa/authenticate/"
ACTIVATE_TOTP = "/accounts/2fa/totp/activate/"


def sign_in(client, email: str = "ann@example.com", next_url: str = ""):
    query = f"?next={next_url}" if next_url else ""
    return client.post(f"/accounts/login/{query}", {"login": email, "password": PASSWORD})


def reauthenticate(client) -> None:
    """allauth asks for the password again before factors change, even right after sign-in."""
    response = client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:1000]


def is_signed_in(client) -> bool:
    return client.get("/accounts/profile/").status_code == 200


def test_totp_page_shows_a_qr_code_and_activation_with_a_real_code_works(
    client, user, django_capture_on_commit_callbacks
):
    sign_in(client)
    assert client.get(ACTIVATE_TOTP)["Location"].startswith("/accounts/reauthenticate/")
    reauthenticate(client)
    page = client.get(ACTIVATE_TOTP)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Warden" in html and 'class="topbar"' in html  # our base layout, not allauth's
    qr = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert qr, "no QR code image on the page"
    svg = base64.b64decode(qr.group(1)).decode()
    assert svg.startswith("<?xml") and "<svg" in svg and "<path" in svg
    secret = page.context["form"].secret
    assert f'value="{secret}"' in html  # the secret is shown for manual entry too

    wrong = client.post(ACTIVATE_TOTP, {"code": "000000"})
    assert wrong.status_code == 200 and b"Incorrect code" in wrong.content
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(ACTIVATE_TOTP, {"code": totp_code(secret)})
    assert done.status_code == 302
    assert done["Location"] == "/accounts/2fa/recovery-codes/"
    assert Authenticator.objects.filter(user=user, type="totp").exists()
    assert AuditEvent.objects.filter(type="mfa_added", actor_user=user).exists()


def test_recovery_codes_are_shown_once(client, user):
    sign_in(client)
    reauthenticate(client)
    page = client.get(ACTIVATE_TOTP)
    client.post(ACTIVATE_TOTP, {"code": totp_code(page.context["form"].secret)})
    codes = recovery_codes(user)
    first = client.get("/accounts/2fa/recovery-codes/")
    assert first.status_code == 200
    assert all(code in first.content.decode() for code in codes)
    second = client.get("/accounts/2fa/recovery-codes/")
    assert not any(code in second.content.decode() for code in codes)


def test_sign_in_asks_for_the_second_factor_and_a_real_totp_code_lets_in(client, user):
    secret = enrol_totp(user)
    response = sign_in(client)
    assert response.status_code == 302 and response["Location"] == AUTHENTICATE
    assert not is_signed_in(client)
    wrong = client.post(AUTHENTICATE, {"code": "123456"})
    assert wrong.status_code == 200 and not is_signed_in(client)
    assert AuditEvent.objects.filter(type="mfa_failed", details__method="web").exists()
    done = client.post(AUTHENTICATE, {"code": totp_code(secret)})
    assert done.status_code == 302
    assert is_signed_in(client)
    assert AuditEvent.objects.filter(
        type="login", actor_user=user, details__method="password+totp"
    ).exists()


def test_recovery_code_signs_in_on_the_web_once(client, user):
    enrol_totp(user)
    code = recovery_codes(user)[0]
    sign_in(client)
    assert client.post(AUTHENTICATE, {"code": code}).status_code == 302
    assert is_signed_in(client)
    client.post("/accounts/logout/")
    sign_in(client)
    again = client.post(AUTHENTICATE, {"code": code})
    assert again.status_code == 200 and b"Incorrect code" in again.content
    assert not is_signed_in(client)


def test_user_can_remove_the_authenticator_app(client, user):
    secret = enrol_totp(user)
    sign_in(client)
    client.post(AUTHENTICATE, {"code": totp_code(secret)})
    reauthenticate(client)
    response = client.post("/accounts/2fa/totp/deactivate/")
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=user).exists()  # recovery codes went too
    assert AuditEvent.objects.filter(type="mfa_removed", actor_user=user).exists()


def test_web_wrong_codes_share_the_per_user_limit_with_the_api(client, api, user):
    secret = enrol_totp(user)
    sign_in(client)
    for _ in range(5):
        client.post(AUTHENTICATE, {"code": "000000"})
    token = api.post(
        "/api/auth/login", {"email": "ann@example.com", "password": PASSWORD}, format="json"
    ).json()["mfa_token"]
    response = api.post(
        "/api/auth/login/mfa", {"mfa_token": token, "code": totp_code(secret)}, format="json"
    )
    assert response.status_code == 429


# --- Role policy ---------------------------------------------------------------------------------


def test_member_of_a_role_requiring_mfa_is_sent_to_set_it_up(client, user):
    user.groups.add(role_requiring_mfa())
    response = sign_in(client)
    assert response.status_code == 302
    landing = client.get(response["Location"])
    assert landing.status_code == 302 and landing["Location"] == ACTIVATE_TOTP
    for path in ("/accounts/profile/", "/accounts/password/change/", "/admin/"):
        blocked = client.get(path)
        assert blocked.status_code == 302 and blocked["Location"] == ACTIVATE_TOTP, path
    # Adding a factor asks for the password again; that page stays reachable.
    assert client.get(ACTIVATE_TOTP)["Location"].startswith("/accounts/reauthenticate/")
    reauthenticate(client)
    setup = client.get(ACTIVATE_TOTP)
    assert setup.status_code == 200
    assert b"requires two-factor authentication" in setup.content
    assert client.get("/accounts/2fa/").status_code == 200
    assert client.get("/static/css/warden.css").status_code == 200

    client.post(ACTIVATE_TOTP, {"code": totp_code(setup.context["form"].secret)})
    assert is_signed_in(client)


def test_member_of_a_role_requiring_mfa_can_sign_out_before_setting_it_up(client, user):
    user.groups.add(role_requiring_mfa())
    sign_in(client)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/accounts/profile/")["Location"].startswith("/accounts/login/")


def test_role_requiring_mfa_keeps_the_last_authenticator_app(client, user):
    secret = enrol_totp(user)
    user.groups.add(role_requiring_mfa())
    sign_in(client)
    client.post(AUTHENTICATE, {"code": totp_code(secret)})
    reauthenticate(client)
    response = client.post("/accounts/2fa/totp/deactivate/")
    assert response.status_code == 200
    assert Authenticator.objects.filter(user=user, type="totp").exists()


def test_roles_without_the_policy_do_not_ask_for_mfa(client, user):
    RolePolicy.objects.create(role=Group.objects.get(name="user"), require_mfa=False)
    sign_in(client)
    assert is_signed_in(client)


# --- Admin ---------------------------------------------------------------------------------------


@pytest.fixture
def staff(make_user):
    return make_user("boss@example.com", is_staff=True, is_superuser=True)


def test_admin_login_page_is_allauths_sign_in(client):
    response = client.get("/admin/login/?next=/admin/accounts/user/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2Faccounts%2Fuser%2F"
    outside = client.get("/admin/login/?next=https://evil.example/")
    assert outside["Location"] == "/accounts/login/?next=%2Fadmin%2F"


def test_staff_with_mfa_cannot_reach_the_admin_with_the_password_alone(client, staff):
    secret = enrol_totp(staff)
    # Django's own admin form is not served, so posting a password to it logs nobody in.
    posted = client.post("/admin/login/", {"username": staff.email, "password": PASSWORD})
    assert posted.status_code == 302 and posted["Location"].startswith("/accounts/login/")
    assert client.get("/admin/").status_code == 302

    response = sign_in(client, staff.email, next_url="/admin/")
    assert response["Location"] == AUTHENTICATE
    assert client.get("/admin/").status_code == 302
    done = client.post(AUTHENTICATE, {"code": totp_code(secret)})
    assert done["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_signed_in_non_staff_user_is_not_looped_through_the_admin_login(client, user):
    sign_in(client)
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"] == "/accounts/profile/"


def test_admin_user_list_shows_factors_and_resets_them_with_an_audit_event(client, staff, user):
    enrol_totp(user)
    client.force_login(staff)
    listing = client.get("/admin/accounts/user/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "second factors" in html.lower()
    assert "authenticator app, recovery codes" in html
    response = client.post(
        "/admin/accounts/user/",
        {"action": "reset_second_factors", "_selected_action": [user.pk]},
    )
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=user).exists()
    event = AuditEvent.objects.get(type="mfa_reset")
    assert event.actor_user == staff and event.target == str(user.public_id)
    assert event.details["removed"] == ["totp", "recovery_codes"]


def test_admin_sets_a_role_to_require_mfa_on_the_role_page(client, staff):
    role = Group.objects.create(name="finance")
    client.force_login(staff)
    page = client.get(f"/admin/accounts/role/{role.pk}/change/")
    assert page.status_code == 200 and b"require a second factor" in page.content.lower()
    response = client.post(
        f"/admin/accounts/role/{role.pk}/change/",
        {
            "name": "finance",
            "policy-TOTAL_FORMS": "1",
            "policy-INITIAL_FORMS": "0",
            "policy-MIN_NUM_FORMS": "0",
            "policy-MAX_NUM_FORMS": "1",
            "policy-0-require_mfa": "on",
            "policy-0-role": str(role.pk),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert RolePolicy.objects.get(role=role).require_mfa is True
    assert b"finance" in client.get("/admin/accounts/role/").content


# --- WebAuthn ------------------------------------------------------------------------------------


def test_security_key_registration_and_sign_in_with_a_software_authenticator(client, user):
    key = SoftwareAuthenticator(origin="https://testserver")
    sign_in(client)
    reauthenticate(client)
    page = client.get("/accounts/2fa/webauthn/add/")
    assert page.status_code == 200
    assert b"mfa/js/webauthn.js" in page.content
    credential = key.create(page.context["js_data"]["creation_options"])
    added = client.post(
        "/accounts/2fa/webauthn/add/", {"name": "Desk key", "credential": _json(credential)}
    )
    assert added.status_code == 302, added.content.decode()[:3000]
    stored = Authenticator.objects.get(user=user, type="webauthn")
    assert stored.wrap().name == "Desk key"
    assert Authenticator.objects.filter(user=user, type="recovery_codes").exists()
    client.post("/accounts/logout/")

    response = sign_in(client)
    assert response["Location"] == AUTHENTICATE
    challenge_page = client.get(AUTHENTICATE)
    request_options = challenge_page.context["js_data"]["request_options"]
    # A key answering for another site is refused.
    phished = key.get(request_options, origin="https://evil.example")
    refused = client.post(AUTHENTICATE, {"credential": _json(phished)})
    assert refused.status_code == 200 and not is_signed_in(client)

    request_options = client.get(AUTHENTICATE).context["js_data"]["request_options"]
    assertion = key.get(request_options)
    done = client.post(AUTHENTICATE, {"credential": _json(assertion)})
    assert done.status_code == 302
    assert is_signed_in(client)
    assert AuditEvent.objects.filter(type="login", details__method="password+webauthn").exists()


def test_an_unknown_security_key_cannot_sign_in(client, user):
    key = SoftwareAuthenticator()
    sign_in(client)
    reauthenticate(client)
    page = client.get("/accounts/2fa/webauthn/add/")
    client.post(
        "/accounts/2fa/webauthn/add/",
        {"name": "k", "credential": _json(key.create(page.context["js_data"]["creation_options"]))},
    )
    client.post("/accounts/logout/")
    sign_in(client)
    stranger = SoftwareAuthenticator()
    options = client.get(AUTHENTICATE).context["js_data"]["request_options"]
    response = client.post(AUTHENTICATE, {"credential": _json(stranger.get(options))})
    assert response.status_code == 200 and not is_signed_in(client)


def _json(value) -> str:
    import json

    return json.dumps(value)


def test_user_can_remove_a_security_key(client, user):
    key = SoftwareAuthenticator()
    sign_in(client)
    reauthenticate(client)
    page = client.get("/accounts/2fa/webauthn/add/")
    credential = key.create(page.context["js_data"]["creation_options"])
    client.post("/accounts/2fa/webauthn/add/", {"name": "k", "credential": _json(credential)})
    stored = Authenticator.objects.get(user=user, type="webauthn")
    response = client.post(f"/accounts/2fa/webauthn/keys/{stored.pk}/remove/")
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=user).exists()
    assert AuditEvent.objects.filter(type="mfa_removed", details__kind="webauthn").exists()
