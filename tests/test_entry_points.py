"""Without DJANGO_SETTINGS_MODULE Warden loads production settings; `make run` picks development."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REFUSAL = "SECRET_KEY must be set in production"


def clean_env(**extra: str) -> dict:
    """What a shell without Warden's environment file has: no settings module, secrets, DEBUG."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", ""),
        **extra,
    }


def run(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_manage_py_without_settings_refuses_to_run_on_development_secrets():
    result = run([sys.executable, "manage.py", "check"], clean_env())
    assert result.returncode != 0
    assert REFUSAL in result.stderr


@pytest.mark.parametrize("module", ["config.wsgi", "config.asgi"])
def test_server_entry_points_without_settings_refuse_to_start(module):
    result = run([sys.executable, "-c", f"import {module}"], clean_env())
    assert result.returncode != 0
    assert REFUSAL in result.stderr


def test_manage_py_runs_with_development_settings_chosen_explicitly():
    result = run(
        [sys.executable, "manage.py", "check"],
        clean_env(DJANGO_SETTINGS_MODULE="config.settings.base"),
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.skipif(not shutil.which("make"), reason="needs make")
@pytest.mark.parametrize("target", ["run", "superuser"])
def test_make_targets_run_manage_py_on_development_settings(target, tmp_path):
    # A stand-in .venv whose python logs how make called it, then runs `manage.py check` with
    # make's environment: the commands are not started (runserver would not return).
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    (tmp_path / "venv" / ".installed").touch()
    log = tmp_path / "calls.log"
    shim = bin_dir / "python"
    shim.write_text(
        "#!/bin/sh\n"
        f'printf "%s %s %s\\n" "$DJANGO_SETTINGS_MODULE" "${{DEBUG:-unset}}" "$2" >> "{log}"\n'
        f'exec "{sys.executable}" manage.py check\n'
    )
    shim.chmod(0o755)
    venv = tmp_path / "venv"
    result = run(["make", "-s", target, f"VENV={venv}", f"BIN={bin_dir}"], clean_env())
    assert result.returncode == 0, result.stdout + result.stderr
    calls = log.read_text().splitlines()
    expected = {
        "run": [
            "config.settings.base unset migrate",
            "config.settings.base unset warden_setup",
            "config.settings.base true runserver",
        ],
        "superuser": ["config.settings.base unset createsuperuser"],
    }[target]
    assert calls == expected
    assert result.stdout.count("System check identified no issues") == len(expected)
