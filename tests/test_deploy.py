"""The deploy/ files are valid as shipped: nginx accepts the gateway, the rest parses."""

import ast
import configparser
import datetime
import io
import json
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import requests
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.management import call_command

from accounts import tokens
from tests.e2e.harness import free_port, nginx_binary, start_gateway

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "api.example.com")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.mark.nginx
def test_production_gateway_config_passes_nginx_t(tmp_path):
    snippets = tmp_path / "snippets" / "warden"
    snippets.mkdir(parents=True)
    for name in ("warden-verify.conf", "warden-protect.conf"):
        shutil.copy(DEPLOY / "nginx" / name, snippets / name)
    cert, key = _self_signed(tmp_path)
    gateway = (
        (DEPLOY / "nginx" / "warden-gateway.conf")
        .read_text()
        .replace("/etc/ssl/certs/api.example.com.pem", str(cert))
        .replace("/etc/ssl/private/api.example.com.key", str(key))
        .replace("/var/log/nginx/gateway.access.log", str(tmp_path / "access.log"))
    )
    (tmp_path / "gateway.conf").write_text(gateway)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        "events {}\n"
        f"http {{\n access_log {tmp_path}/default-access.log;\n include gateway.conf;\n}}\n"
    )
    result = subprocess.run(
        [
            nginx_binary(),
            "-t",
            "-p",
            str(tmp_path),
            "-c",
            str(tmp_path / "nginx.conf"),
            "-e",
            str(tmp_path / "error.log"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


def test_traefik_forward_auth_strips_then_verifies_and_forwards_identity():
    config = yaml.safe_load((DEPLOY / "traefik" / "warden.yml").read_text())["http"]
    middlewares = config["middlewares"]
    auth = middlewares["warden-auth"]["forwardAuth"]
    assert auth["address"].split()[0].endswith("/api/auth/verify")
    assert auth["trustForwardHeader"] is False
    assert auth["authResponseHeaders"] == ["X-User-Id", "X-User-Email", "X-User-Roles"]
    stripped = middlewares["warden-strip-identity"]["headers"]["customRequestHeaders"]
    assert stripped == {
        "X-User-Id": "",
        "X-User-Email": "",
        "X-User-Roles": "",
        "X-Warden-Audience": "",
    }
    chain = middlewares["warden-protected"]["chain"]["middlewares"]
    assert chain == ["warden-strip-identity", "warden-auth"]
    # The orders route admits only tokens for `orders`: the audience is set after the strip.
    assert config["routers"]["orders"]["middlewares"] == [
        "warden-strip-identity",
        "orders-audience",
        "warden-auth",
    ]
    audience = middlewares["orders-audience"]["headers"]["customRequestHeaders"]
    assert audience == {"X-Warden-Audience": "orders"}


def test_systemd_unit_runs_granian_with_the_shipped_settings():
    unit = _unit("warden.service")
    assert unit["Service"]["ExecStart"] == "/opt/warden/.venv/bin/granian config.wsgi:application"
    text = (DEPLOY / "systemd" / "warden.service").read_text()
    assert "EnvironmentFile=/opt/warden/deploy/granian.env" in text
    settings = dict(
        line.split("=", 1)
        for line in (DEPLOY / "granian.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert settings["GRANIAN_INTERFACE"] == "wsgi" and settings["GRANIAN_HOST"] == "127.0.0.1"
    assert "GRANIAN_LOG_ACCESS_FMT" not in settings  # the default has no query string
    assert unit["Service"]["Environment"].endswith("PYTHONUNBUFFERED=1")
    assert unit["Service"]["NoNewPrivileges"] == "true"


def test_gunicorn_unit_runs_gunicorn_with_the_shipped_config():
    unit = _unit("warden-gunicorn.service")
    start = unit["Service"]["ExecStart"]
    assert "gunicorn -c /opt/warden/deploy/gunicorn.conf.py config.wsgi:application" in start
    assert unit["Service"]["NoNewPrivileges"] == "true"


def _unit(name: str) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read(DEPLOY / "systemd" / name)
    return unit


@pytest.mark.django_db
def test_key_rotation_timer_runs_the_shipped_command_daily_with_the_service_settings():
    timer, job = _unit("warden-rotate-keys.timer"), _unit("warden-rotate-keys.service")
    web = _unit("warden.service")
    assert timer["Timer"]["OnCalendar"] == "daily" and timer["Timer"]["Persistent"] == "true"
    assert timer["Timer"]["Unit"] == "warden-rotate-keys.service"
    assert timer["Install"]["WantedBy"] == "timers.target"
    for key in ("User", "WorkingDirectory", "EnvironmentFile"):
        assert job["Service"][key] == web["Service"][key]
    assert job["Service"]["Type"] == "oneshot"
    program, script, *arguments = shlex.split(job["Service"]["ExecStart"])
    assert (program, script) == ("/opt/warden/.venv/bin/python", "manage.py")
    tokens.signing_key_ensure()
    out = io.StringIO()
    call_command(*arguments, stdout=out)  # the same arguments, against the test database
    assert json.loads(out.getvalue())["rotated"] is False, "a fresh key is not due"


def test_release_steps_load_the_service_environment_before_any_manage_py_command():
    readme = (DEPLOY / "README.md").read_text()
    steps = readme.split("## Deploying a release", 1)[1].split("```sh\n", 1)[1].split("```")[0]
    lines = steps.splitlines()
    env_file = _unit("warden.service")["Service"]["EnvironmentFile"]
    loads = lines.index(next(line for line in lines if line.startswith("set -a;")))
    assert lines[loads].split("#")[0].split() == ["set", "-a;", ".", f"{env_file};", "set", "+a"]
    assert loads < min(i for i, line in enumerate(lines) if "manage.py" in line)


def test_gunicorn_access_log_format_has_no_query_string_or_headers():
    tree = ast.parse((DEPLOY / "gunicorn.conf.py").read_text())
    values = {
        node.targets[0].id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
    }
    log_format = ast.literal_eval(values["access_log_format"])
    assert "%(U)s" in log_format
    for leaky in ("%(r)s", "%(q)s", "%({", "%(f)s"):
        assert leaky not in log_format
    assert ast.literal_eval(values["preload_app"]) is True


@pytest.mark.nginx
def test_gateway_answers_503_with_retry_after_when_warden_is_unreachable(tmp_path):
    closed = free_port()  # nothing listens there
    ports = {"gateway": free_port(), "warden_a": closed, "warden_b": closed, "orders": closed}
    nginx = start_gateway(tmp_path, ports=ports, ready_path="/nothing-here")
    try:
        response = requests.get(
            f"http://127.0.0.1:{ports['gateway']}/orders/",
            headers={"Authorization": "Bearer some.token.value"},
            timeout=10,
        )
    finally:
        nginx.stop()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json()["error"] == "temporarily_unavailable"
