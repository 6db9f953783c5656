"""Node's openid-client (tests/oidc/js) as a relying party of a live Warden: code + PKCE with
ID token, userinfo and refresh; and the device flow with a public client."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from tests.conftest import PASSWORD
from tests.oidc.live import USER_EMAIL
from tests.oidc.test_library_rps import CALLBACK, browser_sign_in

JS = Path(__file__).resolve().parent / "js"
pytestmark = pytest.mark.node


def node(*args: str) -> subprocess.Popen:
    if not (JS / "node_modules" / "openid-client").exists():
        pytest.fail(
            "tests/oidc/js/node_modules is missing: `make js-deps` installs it, or run "
            "`npm ci --no-audit --no-fund` in tests/oidc/js"
        )
    return subprocess.Popen(
        [shutil.which("node"), "rp.mjs", *args],
        cwd=JS,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read(process: subprocess.Popen) -> dict:
    line = process.stdout.readline()
    if not line:
        raise AssertionError(process.stderr.read())
    return json.loads(line)


def test_openid_client_code_flow(live_warden):
    client = live_warden.register("Node app", "--redirect-uri", CALLBACK, "--public")
    rp = node("code", live_warden.base, client["client_id"], CALLBACK)
    try:
        url = read(rp)["url"]
        rp.stdin.write(browser_sign_in(url) + "\n")
        rp.stdin.flush()
        done = read(rp)
    finally:
        rp.kill()
    assert done["claims"]["amr"] == ["pwd"]
    assert done["info"]["email"] == USER_EMAIL and done["info"]["roles"] == ["user"]
    assert done["refreshed"] is True


def test_openid_client_device_flow(live_warden):
    client = live_warden.register("Node CLI", "--public", "--device")
    rp = node("device", live_warden.base, client["client_id"])
    try:
        started = read(rp)
        session = requests.Session()
        page = session.get(started["verification_uri_complete"])
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        page = session.post(
            page.url,
            data={"login": USER_EMAIL, "password": PASSWORD, "csrfmiddlewaretoken": csrf},
            headers={"Referer": page.url},
        )
        assert "Node CLI" in page.text
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        answer = session.post(
            page.url,
            data={
                "user_code": started["user_code"],
                "decision": "allow",
                "csrfmiddlewaretoken": csrf,
            },
            headers={"Referer": page.url},
        )
        assert "allowed" in answer.text
        done = read(rp)
    finally:
        rp.kill()
    assert done["claims"]["aud"] == client["client_id"]
