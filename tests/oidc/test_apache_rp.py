"""A real relying party: Apache with Debian's mod_auth_openidc protects a page; headless
Chromium signs in to it through Warden (sign-in form, consent), and the page gets the claims."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import PASSWORD
from tests.oidc.live import USER_EMAIL
from tests.test_google_browser import CHROMIUM, CHROMIUM_ARGS, free_port

APACHE = "/usr/sbin/apache2"
MODULES = Path("/usr/lib/apache2/modules")
pytestmark = [pytest.mark.apache, pytest.mark.browser]

CLAIMS_CGI = """#!/bin/sh
printf 'Content-Type: text/plain\\n\\n'
env | grep '^OIDC_CLAIM_' | sort
"""


def apache_available() -> bool:
    return os.access(APACHE, os.X_OK) and (MODULES / "mod_auth_openidc.so").exists()


def _config(root: Path, *, port: int, warden: str, client: dict) -> str:
    modules = ["mpm_prefork", "authz_core", "authz_user", "authn_core", "alias", "cgi"]
    loads = "\n".join(f"LoadModule {m}_module {MODULES}/mod_{m}.so" for m in modules)
    user = "User www-data\nGroup www-data" if os.geteuid() == 0 else ""
    return f"""{loads}
LoadModule auth_openidc_module {MODULES}/mod_auth_openidc.so
{user}
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile {root}/apache.pid
ErrorLog {root}/error.log
LogLevel warn auth_openidc:info
DocumentRoot {root}
ScriptAlias /protected/claims {root}/claims.cgi

OIDCProviderMetadataURL {warden}/.well-known/openid-configuration
OIDCClientID {client["client_id"]}
OIDCClientSecret {client["client_secret"]}
OIDCRedirectURI http://127.0.0.1:{port}/protected/redirect_uri
OIDCCryptoPassphrase apache-test-passphrase
OIDCScope "openid email profile roles"
OIDCPKCEMethod S256
OIDCRemoteUserClaim email
OIDCPassClaimsAs environment

<Location /protected>
  AuthType openid-connect
  Require valid-user
</Location>
"""


@pytest.fixture
def apache(live_warden):
    port = free_port()
    redirect_uri = f"http://127.0.0.1:{port}/protected/redirect_uri"
    client = live_warden.register("Intranet", "--redirect-uri", redirect_uri)
    root = Path(tempfile.mkdtemp(prefix="warden-apache-"))
    root.chmod(0o755)  # Apache's workers (www-data when we are root) read the CGI here
    (root / "claims.cgi").write_text(CLAIMS_CGI)
    (root / "claims.cgi").chmod(0o755)
    (root / "httpd.conf").write_text(
        _config(root, port=port, warden=live_warden.base, client=client)
    )
    process = subprocess.Popen(
        [APACHE, "-f", str(root / "httpd.conf"), "-DFOREGROUND"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        # Its own process group: stopping, Apache signals its whole group, never ours.
        start_new_session=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "APACHE_RUN_DIR": str(root)},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(base + "/", timeout=1)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (root / "error.log").read_text() if (root / "error.log").exists() else ""
                    raise RuntimeError(f"Apache did not start: {log[-2000:]}") from None
                time.sleep(0.2)
        yield base, root
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


def test_apache_mod_auth_openidc_signs_in_through_warden(apache, live_warden):
    from playwright.sync_api import sync_playwright

    base, root = apache
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = chromium.new_page()
            page.set_default_timeout(20_000)
            page.goto(f"{base}/protected/claims")
            page.wait_for_url(f"{live_warden.base}/accounts/login/**")
            page.locator("input[name=login]").fill(USER_EMAIL)
            page.locator("input[name=password]").fill(PASSWORD)
            page.locator("input[name=password]").press("Enter")
            page.wait_for_url(f"{live_warden.base}/oidc/authorize**")
            assert page.locator("[data-testid=app-name]").inner_text() == "Intranet"
            page.locator("button[value=allow]").click()  # form-action must allow Apache
            page.wait_for_url(f"{base}/protected/claims**")
            text = page.locator("body").inner_text()
        finally:
            chromium.close()
    error_log = (root / "error.log").read_text()
    assert f"OIDC_CLAIM_email={USER_EMAIL}" in text, text + error_log[-2000:]
    assert "OIDC_CLAIM_email_verified=1" in text
    assert "OIDC_CLAIM_given_name=Ann" in text
    assert "OIDC_CLAIM_roles=user" in text
