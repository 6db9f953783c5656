"""The SDK installs with pip from the repo and imports without Django."""

import shutil
import subprocess
import sys
from pathlib import Path

SDK = Path(__file__).resolve().parents[2] / "warden_client"


def test_sdk_installs_with_pip_and_imports_without_django(tmp_path):
    # A copy, because setuptools writes build/ and *.egg-info next to the sources.
    source = shutil.copytree(
        SDK, tmp_path / "src", ignore=shutil.ignore_patterns("build", "*.egg-info")
    )
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            target,
            source,
        ],
        check=True,
        timeout=180,
        capture_output=True,
    )
    probe = (
        "import sys, warden_client; "
        "from warden_client.wsgi import WardenMiddleware; "
        "assert 'django' not in sys.modules, 'imports Django'; "
        "print(warden_client.__file__)"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(target)!r}); {probe}"],
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.stdout.strip().startswith(str(target))
