"""A real Warden for real relying parties: runserver on a loopback port, its own SQLite file,
an http issuer on 127.0.0.1 (what the RPs discover), a verified user, and app registration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.conftest import PASSWORD
from tests.test_google_browser import free_port

ROOT = Path(__file__).resolve().parent.parent.parent
USER_EMAIL = "ann@example.com"


@dataclass
class LiveWarden:
    base: str
    env: dict
    process: subprocess.Popen

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return done.stdout

    def register(self, name: str, *args: str) -> dict:
        return json.loads(self.manage("create_oidc_client", name, *args).strip().splitlines()[-1])


def live_warden_start(tmp_path: Path) -> LiveWarden:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=f"sqlite:///{tmp_path / 'warden.sqlite3'}",
        WARDEN_ISSUER=base,
    )
    warden = LiveWarden(base=base, env=env, process=None)  # type: ignore[arg-type]
    warden.manage("migrate", "--noinput")
    make_user = (
        "from allauth.account.models import EmailAddress as E; from accounts.models import User;"
        f"u = User.objects.create_user(email='{USER_EMAIL}', password='{PASSWORD}',"
        " first_name='Ann', last_name='Lee');"
        "E.objects.create(user=u, email=u.email, verified=True, primary=True)"
    )
    warden.manage("shell", "-c", make_user)
    log = (tmp_path / "warden.log").open("w")
    warden.process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"{base}/healthz", timeout=1).ok:
                return warden
        except requests.ConnectionError:
            pass
        if warden.process.poll() is not None or time.monotonic() > deadline:
            live_warden_stop(warden)
            raise RuntimeError((tmp_path / "warden.log").read_text()[-3000:])
        time.sleep(0.2)


def live_warden_stop(warden: LiveWarden) -> None:
    if warden.process is None:
        return
    warden.process.terminate()
    try:
        warden.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        warden.process.kill()
        warden.process.wait(timeout=10)
