"""Real resource servers: Apache with Debian's mod_oauth2, configured by
deploy/apache/resource-server.conf as shipped, protects one location by checking Warden's
tokens locally against the JWKS and another by introspection; a CGI behind both echoes the
claims mod_oauth2 passes on. Warden is the e2e fleet (gunicorn on PostgreSQL + Redis)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import requests

from tests.conftest import PASSWORD
from tests.e2e import harness
from tests.helpers import claims_of

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.apache_oauth2]
TIMEOUT = 10
SHIPPED = harness.REPO / "deploy" / "apache" / "resource-server.conf"
JWKS_LOCATION, INTROSPECTED_LOCATION = "/orders/", "/orders-live/"

CLAIMS_CGI = """#!/bin/sh
printf 'Content-Type: text/plain\\n\\n'
env | grep '^OAUTH2_CLAIM_' | sort
"""


def _site(*, issuer: str, jwks_warden: str, introspect_warden: str, client: dict) -> str:
    """The shipped file with this fleet's addresses and the introspection client put in;
    every replacement must hit, so the file cannot drift from what is tested."""
    text = SHIPPED.read_text()
    for old, new, count in (
        ("iss:https://auth.example.com", f"iss:{issuer}", 1),
        ("https://auth.example.com/.well-known/", f"{jwks_warden}/.well-known/", 1),
        ("https://auth.example.com/api/auth/", f"{introspect_warden}/api/auth/", 1),
        ("svc_REPLACE_WITH_CLIENT_ID", client["client_id"], 1),
        ("REPLACE_WITH_CLIENT_SECRET", client["client_secret"], 1),
    ):
        assert text.count(old) == count, f"{SHIPPED.name}: expected {count} x {old!r}"
        text = text.replace(old, new)
    return text


def _server_config(root: Path, *, port: int, modules: Path) -> str:
    loads = "\n".join(
        f"LoadModule {name}_module {modules}/mod_{name}.so"
        for name in ("mpm_prefork", "authn_core", "authz_core", "alias", "cgi", "oauth2")
    )
    user = "User www-data\nGroup www-data" if os.geteuid() == 0 else ""
    return f"""{loads}
{user}
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile {root}/apache.pid
ErrorLog {root}/error.log
LogLevel warn oauth2:info
Mutex file:{root} default
DefaultRuntimeDir {root}
StartServers 2
DocumentRoot {root}/htdocs
ScriptAliasMatch "^/(orders|orders-live)/claims$" "{root}/claims.cgi"
Include {root}/resource-server.conf
"""


@pytest.fixture(scope="module")
def fleet_audiences(fleet_env) -> dict:
    """The README's commands: the audiences orders and billing, and orders' introspection
    client."""
    env = fleet_env["env"]
    harness.manage(env, "create_resource_server", "orders", "--scope", "orders:read")
    harness.manage(env, "create_resource_server", "billing", "--scope", "billing:read")
    out = harness.manage(env, "create_service_client", "orders-api", "--audience", "orders")
    return {"introspection_client": json.loads(out.strip().splitlines()[-1])}


@pytest.fixture(scope="module")
def apache(wardens, fleet_env, fleet_audiences):
    modules = harness.apache_modules_dir()
    port = harness.free_port()
    # Not under pytest's tmp dir (mode 0700): as root, Apache's workers run as www-data and
    # must reach the CGI.
    root = Path(tempfile.mkdtemp(prefix="warden-apache-rs-"))
    root.chmod(0o755)
    (root / "htdocs").mkdir()
    (root / "htdocs" / "index.html").write_text("up\n")
    (root / "claims.cgi").write_text(CLAIMS_CGI)
    (root / "claims.cgi").chmod(0o755)
    site = _site(
        issuer=fleet_env["env"]["WARDEN_ISSUER"],
        jwks_warden=wardens["a"],
        introspect_warden=wardens["b"],  # instance b sees a logout made through a at once
        client=fleet_audiences["introspection_client"],
    )
    (root / "resource-server.conf").write_text(site)
    process = None
    try:
        process = harness.start_apache(
            root, _server_config(root, port=port, modules=modules), port=port
        )
        yield {"url": f"http://127.0.0.1:{port}", "root": root}
    finally:
        if process is not None:
            process.stop()
        shutil.rmtree(root, ignore_errors=True)


def _token(wardens, resource: str | None) -> dict:
    """Ann signs in (a new session each time) for `resource`, or for Warden's own audience."""
    data = {"grant_type": "password", "username": "ann@example.com", "password": PASSWORD}
    if resource:
        data["resource"] = resource
    response = requests.post(f"{wardens['a']}/api/auth/token", data=data, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()


def _claims(apache, location: str, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"{apache['url']}{location}claims", headers=headers, timeout=TIMEOUT)


def _error_log(apache) -> str:
    return (apache["root"] / "error.log").read_text(errors="replace")[-3000:]


def _echoed(response: requests.Response) -> dict:
    return dict(line.split("=", 1) for line in response.text.splitlines() if "=" in line)


@pytest.mark.parametrize("location", [JWKS_LOCATION, INTROSPECTED_LOCATION])
def test_a_token_for_orders_passes_and_its_claims_reach_the_service(apache, wardens, location):
    token = _token(wardens, "orders")["access_token"]
    sub = claims_of(token)["sub"]
    response = _claims(apache, location, token)
    assert response.status_code == 200, response.text + _error_log(apache)
    claims = _echoed(response)
    assert claims["OAUTH2_CLAIM_aud"] == "orders"
    assert claims["OAUTH2_CLAIM_sub"] == sub
    assert claims["OAUTH2_CLAIM_scope"] == "orders:read"
    assert claims["OAUTH2_CLAIM_roles"] == '["user"]'  # JSON, as mod_oauth2 passes arrays


@pytest.mark.parametrize("location", [JWKS_LOCATION, INTROSPECTED_LOCATION])
def test_no_token_another_audience_or_a_forged_one_is_refused(apache, wardens, location):
    assert _claims(apache, location, None).status_code == 401
    for resource in ("billing", None):  # another resource server's, and Warden's own
        token = _token(wardens, resource)["access_token"]
        refused = _claims(apache, location, token)
        assert refused.status_code == 401, (resource, refused.text)
    header, payload, signature = _token(wardens, "orders")["access_token"].split(".")
    flipped = ("B" if signature[10] == "A" else "A").join((signature[:10], signature[11:]))
    assert _claims(apache, location, f"{header}.{payload}.{flipped}").status_code == 401


def test_after_logout_introspection_refuses_at_once_but_local_validation_cannot(apache, wardens):
    pair = _token(wardens, "orders")
    token = pair["access_token"]
    # The JWKS location first: with one cache for both (mod_oauth2's default), its result
    # would answer for the introspection location too and hide the logout from it.
    assert _claims(apache, JWKS_LOCATION, token).status_code == 200
    assert _claims(apache, INTROSPECTED_LOCATION, token).status_code == 200

    logout = requests.post(
        f"{wardens['a']}/api/auth/logout",
        json={"refresh_token": pair["refresh_token"]},
        timeout=TIMEOUT,
    )
    assert logout.status_code == 204, logout.text

    refused = _claims(apache, INTROSPECTED_LOCATION, token)  # the very next request
    assert refused.status_code == 401, refused.text + _error_log(apache)
    assert 'error="invalid_token"' in refused.headers.get("WWW-Authenticate", "")
    # By design, not a bug: a JWT checked against the JWKS alone carries no news of the
    # session, so it stays good here until its exp (the README says so, and why).
    assert _claims(apache, JWKS_LOCATION, token).status_code == 200
