"""GET /metrics: guarded, in Prometheus format, counting what the service does."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from accounts import metrics
from accounts.models import AuthSession

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(api, **extra) -> str:
    response = api.get("/metrics", **extra)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def test_metrics_answer_loopback_in_prometheus_format(api):
    body = scrape(api, REMOTE_ADDR="127.0.0.1")
    assert "# TYPE warden_sign_ins_total counter" in body
    assert "# TYPE warden_http_request_duration_seconds histogram" in body


def test_metrics_hidden_from_other_addresses_unless_token(api, settings):
    settings.METRICS_TOKEN = "scrape-secret-123"
    assert api.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 404
    wrong = api.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 403
    scrape(api, REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer scrape-secret-123")


def test_metrics_allow_list_takes_cidrs(api, settings):
    settings.METRICS_ALLOWED_IPS = ["10.1.0.0/16"]
    scrape(api, REMOTE_ADDR="10.1.200.3")
    assert api.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404


def test_without_configured_token_a_bearer_header_opens_nothing(api, settings):
    settings.METRICS_TOKEN = ""
    response = api.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 404


def test_sign_ins_counted_by_method_and_outcome(api, user, login):
    ok, bad = (
        value("warden_sign_ins_total", method="password", outcome=o) for o in ("success", "failure")
    )
    login()
    api.post("/api/auth/login", {"email": user.email, "password": "wrong-pass-1"}, format="json")
    assert value("warden_sign_ins_total", method="password", outcome="success") == ok + 1
    assert value("warden_sign_ins_total", method="password", outcome="failure") == bad + 1


def test_refresh_reuse_and_revocation_counted(api, user, login, settings):
    settings.WARDEN_REFRESH_REUSE_GRACE = 0
    before = {
        "refresh": value("warden_refreshes_total"),
        "reuse": value("warden_refresh_reuse_detections_total"),
        "revoked": value("warden_revocations_total", reason="refresh_reuse"),
    }
    old = login()["refresh_token"]
    api.post("/api/auth/refresh", {"refresh_token": old}, format="json")
    replay = api.post("/api/auth/refresh", {"refresh_token": old}, format="json")
    assert replay.status_code == 400
    assert value("warden_refreshes_total") == before["refresh"] + 1
    assert value("warden_refresh_reuse_detections_total") == before["reuse"] + 1
    assert value("warden_revocations_total", reason="refresh_reuse") == before["revoked"] + 1


def test_verify_outcomes_counted_with_reason(api, user, login):
    active = value("warden_verify_total", result="active", reason="")
    missing = value("warden_verify_total", result="inactive", reason="no_token")
    access = login()["access_token"]
    api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {access}")
    api.get("/api/auth/verify")
    assert value("warden_verify_total", result="active", reason="") == active + 1
    assert value("warden_verify_total", result="inactive", reason="no_token") == missing + 1


def test_rate_limit_hits_counted(api, user, settings):
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "100/m/ip,1/300s/key"}
    before = value("warden_rate_limited_total", endpoint="api:login")
    for _ in range(3):
        api.post("/api/auth/login", {"email": user.email, "password": "wrong-pw-1"}, format="json")
    assert value("warden_rate_limited_total", endpoint="api:login") >= before + 1


def test_latency_histogram_labels_route_names_not_paths(api, user, login):
    pair = login()
    sid = api.get("/api/auth/sessions", HTTP_AUTHORIZATION=f"Bearer {pair['access_token']}").json()[
        0
    ]["id"]
    api.delete(f"/api/auth/sessions/{sid}", HTTP_AUTHORIZATION=f"Bearer {pair['access_token']}")
    body = scrape(api, REMOTE_ADDR="127.0.0.1")
    assert 'route="api:session"' in body
    assert 'route="api:login"' in body
    assert sid not in body


def test_active_sessions_gauge_counts_live_sessions(api, user, login, monkeypatch):
    monkeypatch.setattr(metrics.active_sessions, "_value", None)
    login()
    login()
    AuthSession.objects.filter(pk=AuthSession.objects.first().pk).update(state="revoked")
    assert value("warden_active_sessions") == 1


def test_verify_latency_is_labelled_with_its_route(api, db):
    api.get("/api/auth/verify")
    assert (
        value("warden_http_request_duration_seconds_count", route="api:verify", method="GET") >= 1
    )


COUNT_IN_CHILD = """
import sys
from accounts import metrics
for _ in range(int(sys.argv[1])):
    metrics.audit_event(type="login", outcome="success", details={"method": "google"})
"""
READ_IN_CHILD = """
import time
from accounts import metrics
metrics.active_sessions._value, metrics.active_sessions._at = 0, time.monotonic() + 60
print(metrics.registry().get_sample_value(
    "warden_sign_ins_total", {"method": "google", "outcome": "success"}))
"""


def test_multiprocess_mode_adds_up_every_worker(tmp_path):
    # Each gunicorn worker is a process: /metrics must report all of them, not its own share.
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    for count in ("2", "3"):
        subprocess.run([sys.executable, "-c", COUNT_IN_CHILD, count], env=env, check=True)
    out = subprocess.run(
        [sys.executable, "-c", READ_IN_CHILD], env=env, check=True, capture_output=True, text=True
    )
    assert float(out.stdout.strip()) == 5.0


def test_grafana_dashboard_queries_only_metrics_we_export(api):
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "warden.json").read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"warden_[a-z_]+", target["expr"])
    }
    api.get("/healthz")  # so the latency histogram has samples to export
    exported = scrape(api, REMOTE_ADDR="127.0.0.1")
    missing = [
        name for name in queried if f"\n{name}" not in exported and f" {name} " not in exported
    ]
    assert queried and not missing
