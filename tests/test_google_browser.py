"""Sign in with Google in a real browser: Debian's Chromium, a Warden server and the stand-in."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADMIN_EMAIL, ADMIN_PASSWORD = "root@example.com", "admin-horse-battery-42"

pytestmark = pytest.mark.browser


def free_port() -> int:
    """A free loopback port; WARDEN_TEST_PORTS=lo-hi keeps it inside a range given to us."""
    low, _, high = os.environ.get("WARDEN_TEST_PORTS", "0-0").partition("-")
    for port in range(int(low), int(high) + 1) if int(low) else [0]:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise RuntimeError("no free port in WARDEN_TEST_PORTS")


def manage(*args: str, env: dict) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=180,
    )


@pytest.fixture(scope="module")
def warden(_google_standin_server, tmp_path_factory):
    """A real Warden server (runserver, own SQLite file) whose Google is the stand-in."""
    google = _google_standin_server
    tmp_path = tmp_path_factory.mktemp("warden")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=f"sqlite:///{tmp_path / 'warden.sqlite3'}",
        GOOGLE_OAUTH_BASE_URL=google.base_url,
        GOOGLE_CLIENT_ID=settings.GOOGLE_CLIENT_ID,
        GOOGLE_CLIENT_SECRET=settings.GOOGLE_CLIENT_SECRET,
        DJANGO_SUPERUSER_EMAIL=ADMIN_EMAIL,
        DJANGO_SUPERUSER_PASSWORD=ADMIN_PASSWORD,
    )
    manage("migrate", "--noinput", env=env)
    manage("createsuperuser", "--noinput", env=env)
    # Staff sign in on the allauth page, which holds unverified addresses at verification.
    verify = (
        "from allauth.account.models import EmailAddress as E; from accounts.models import User;"
        f"E.objects.create(user=User.objects.get(email='{ADMIN_EMAIL}'), email='{ADMIN_EMAIL}',"
        " verified=True, primary=True)"
    )
    manage("shell", "-c", verify, env=env)
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((tmp_path / "server.log").read_text()[-3000:])
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def snapshot(page, name: str) -> None:
    """Screenshots for a person to look at, only when WARDEN_SCREENSHOTS names a folder."""
    folder = os.environ.get("WARDEN_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def admin_page(browser, warden):
    admin = browser.new_page()  # a separate browser context: the admin's own session
    admin.set_default_timeout(15_000)
    admin.goto(f"{warden}/admin/")  # staff sign in on Warden's own sign-in page
    admin.locator("input[name=login]").fill(ADMIN_EMAIL)
    admin.locator("input[name=password]").fill(ADMIN_PASSWORD)
    admin.locator("input[name=password]").press("Enter")
    admin.wait_for_url(f"{warden}/admin/")
    return admin


def test_sign_in_with_google_in_a_real_browser_then_admin_shows_the_link(warden, browser):
    page = browser.new_page()
    page.set_default_timeout(15_000)

    page.goto(f"{warden}/accounts/login/")
    snapshot(page, "1-sign-in")
    page.get_by_role("link", name="Sign in with Google").click()
    page.get_by_role("button", name="Continue").click()  # allauth signs in on POST only

    page.wait_for_url(f"{settings.GOOGLE_OAUTH_BASE_URL}/o/oauth2/v2/auth?**")
    page.get_by_label("Email", exact=True).fill("nia.okafor@example.com")
    page.get_by_label("Name", exact=True).fill("Nia Okafor")
    snapshot(page, "2-consent")
    page.get_by_role("button", name="Allow").click()

    page.wait_for_url(f"{warden}/accounts/profile/")
    snapshot(page, "3-account")
    assert page.get_by_test_id("email").inner_text() == "nia.okafor@example.com"
    assert page.get_by_test_id("roles").inner_text() == "user"
    assert "Google" in page.get_by_test_id("providers").inner_text()

    admin = admin_page(browser, warden)
    admin.goto(f"{warden}/admin/accounts/user/?q=nia.okafor")
    snapshot(admin, "4-admin-users")
    row = admin.locator("#result_list tbody tr", has_text="nia.okafor@example.com")
    assert row.locator("td.field-providers").inner_text() == "google"

    admin.goto(f"{warden}/admin/socialaccount/socialaccount/")
    snapshot(admin, "5-admin-social-accounts")
    linked = admin.locator("#result_list tbody tr")
    assert linked.count() == 1
    assert "nia.okafor@example.com" in linked.inner_text()
    assert "google" in linked.inner_text().lower()


def test_denying_consent_in_a_real_browser_ends_on_a_friendly_page_with_no_user(warden, browser):
    page = browser.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{warden}/accounts/login/")
    page.get_by_role("link", name="Sign in with Google").click()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Email", exact=True).fill("changed.mind@example.com")
    page.get_by_role("button", name="Deny").click()

    page.wait_for_url(warden + reverse("socialaccount_login_cancelled"))
    snapshot(page, "6-cancelled")
    assert page.get_by_role("heading", name="Sign-in cancelled").is_visible()
    assert page.get_by_role("link", name="Back to sign in").is_visible()

    admin = admin_page(browser, warden)
    admin.goto(f"{warden}/admin/accounts/user/?q=changed.mind")
    assert admin.locator("#result_list tbody tr").count() == 0
