"""Start and stop real servers for end-to-end tests: ports, processes, readiness, databases."""

from __future__ import annotations

import contextlib
import ctypes
import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from socketserver import ThreadingMixIn
from urllib.parse import urlparse, urlunparse
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import requests

REPO = Path(__file__).resolve().parents[2]
_handed_out: set[int] = set()


def nginx_binary() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A free loopback port: from WARDEN_TEST_PORTS ("18500-18599") if set, else the OS's."""
    spec = os.environ.get("WARDEN_TEST_PORTS")
    if spec:
        low, high = (int(part) for part in spec.split("-"))
        for port in range(low, high + 1):
            if port not in _handed_out and _bindable(port):
                _handed_out.add(port)
                return port
        raise RuntimeError(f"no free port left in WARDEN_TEST_PORTS={spec}")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """Linux: SIGTERM the child if pytest itself is killed, so no server outlives the run."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Process:
    """A child process in its own process group, output in a log file, always stoppable."""

    def __init__(
        self,
        name: str,
        args: list[str],
        *,
        env: dict,
        log_dir: Path,
        stop_signal: int = signal.SIGTERM,
    ) -> None:
        self.name = name
        self.stop_signal = stop_signal  # PostgreSQL: SIGINT, its fast shutdown
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            args,
            env=env,
            cwd=REPO,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, self.stop_signal)
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        self._log.close()


def wait_until_up(url: str, process: Process, *, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited early:\n{process.log()[-4000:]}")
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{process.name} not up after {timeout}s:\n{process.log()[-4000:]}")


# --- Warden under gunicorn ----------------------------------------------------------------------


def warden_env(*, database_url: str, redis_url: str, issuer: str, **extra: str) -> dict:
    """Production-like settings (config.settings.base, no DEBUG) for a Warden test instance."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.base",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        CACHE_KEY_PREFIX="warden-e2e",
        SECRET_KEY="e2e-secret-key-not-for-production-0123456789abcdefghijkl",
        WARDEN_KEY_ENCRYPTION_KEY="e2e-key-encryption-key",
        WARDEN_ISSUER=issuer,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DEBUG="false",
        LOG_LEVEL="WARNING",
        WEB_CONCURRENCY="2",
        GUNICORN_THREADS="2",
        GUNICORN_LOG_LEVEL="warning",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def manage(env: dict, *args: str, timeout: float = 180) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def manage_json(env: dict, code: str) -> dict:
    """Run Python in `manage.py shell` against env's database; its last line is JSON."""
    return json.loads(manage(env, "shell", "-c", code).strip().splitlines()[-1])


def start_warden(name: str, *, port: int, env: dict, log_dir: Path) -> Process:
    process = Process(
        name,
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(REPO / "deploy" / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "config.wsgi:application",
        ],
        env=env,
        log_dir=log_dir,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
    except Exception:
        process.stop()
        raise
    return process


def service_client(env: dict, name: str, *scopes: str) -> dict:
    """Register a service the documented way (create_service_client); its credentials."""
    args = [arg for scope in scopes for arg in ("--scope", scope)]
    return json.loads(manage(env, "create_service_client", name, *args).strip().splitlines()[-1])


@contextlib.contextmanager
def one_worker_warden(name: str, tmp: Path, *, seed: str, **settings: str):
    """A live Warden for client and SDK tests: one gunicorn worker (so the local-memory cache
    is the one cache) on a SQLite database in tmp, migrated and seeded by `seed` (Python for
    `manage.py shell` whose last line is JSON). Yields url, env, process and what seed printed."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    options = {"WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "4", "LOGIN_IP_RATE": "1000/m"}
    env = warden_env(
        database_url=f"sqlite:///{tmp / 'warden.sqlite3'}",
        redis_url="",
        issuer=url,
        **{**options, **settings},
    )
    manage(env, "migrate", "--noinput")
    seeded = manage_json(env, seed)
    process = start_warden(name, port=port, env=env, log_dir=tmp)
    try:
        yield {"url": url, "env": env, "process": process, "seeded": seeded}
    finally:
        process.stop()


def npm_packages_present(directory: Path) -> None:
    """Fail (not skip: CI has npm) when `make js-deps` has not installed directory's packages."""
    if not (directory / "node_modules" / ".package-lock.json").exists():
        import pytest

        where = directory.relative_to(REPO)
        pytest.fail(
            f"{where}/node_modules is missing: `make js-deps` installs it, or run "
            f"`npm ci --no-audit --no-fund` in {where}"
        )


# --- nginx --------------------------------------------------------------------------------------


def start_gateway(tmp: Path, *, ports: dict, ready_path: str = "/.well-known/jwks.json") -> Process:
    """nginx as the gateway, from tests/e2e's template and deploy/nginx's snippets, in tmp."""
    user_line = f"user {getpass.getuser()};" if os.geteuid() == 0 else ""
    config = (
        (REPO / "tests" / "e2e" / "gateway.nginx.conf.template")
        .read_text()
        .replace("@@USER_LINE@@", user_line)
        .replace("@@TMP@@", str(tmp))
        .replace("@@SNIPPETS@@", str(REPO / "deploy" / "nginx"))
        .replace("@@WARDEN_A@@", str(ports["warden_a"]))
        .replace("@@WARDEN_B@@", str(ports["warden_b"]))
        .replace("@@ORDERS@@", str(ports["orders"]))
        .replace("@@GATEWAY@@", str(ports["gateway"]))
    )
    (tmp / "nginx.conf").write_text(config)
    args = [
        nginx_binary(),
        "-p",
        str(tmp),
        "-e",
        str(tmp / "error.log"),
        "-c",
        str(tmp / "nginx.conf"),
    ]
    process = Process("nginx", args, env=dict(os.environ), log_dir=tmp)
    try:
        wait_until_up(f"http://127.0.0.1:{ports['gateway']}{ready_path}", process, timeout=20)
    except Exception:
        process.stop()
        raise
    return process


# --- Apache (httpd) -----------------------------------------------------------------------------


def apache_binary() -> str | None:
    for name in ("apache2", "httpd"):
        found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
        if found:
            return found
    return None


def apache_modules_dir(binary: str | None = None) -> Path | None:
    """Where the server's modules are: Debian's /usr/lib/apache2/modules, else `-V`'s root."""
    binary = binary or apache_binary()
    if not binary:
        return None
    candidates = [Path(binary).resolve().parent.parent / "lib" / "apache2" / "modules"]
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        info = subprocess.run([binary, "-V"], capture_output=True, text=True, timeout=10).stdout
        for line in info.splitlines():
            if "HTTPD_ROOT=" in line:
                candidates.append(Path(line.split("=", 1)[1].strip().strip('"')) / "modules")
    return next((c for c in candidates if (c / "mod_authz_core.so").exists()), None)


def apache_missing(module: str) -> str | None:
    """What is missing to run Apache with `module` (e.g. "mod_oauth2"), or None."""
    binary = apache_binary()
    if not binary:
        return "apache2 not found"
    modules = apache_modules_dir(binary)
    if modules is None:
        return f"no Apache modules directory next to {binary}"
    if not (modules / f"{module}.so").exists():
        return f"{module}.so not in {modules}"
    return None


def start_apache(tmp: Path, config: str, *, port: int, ready_path: str = "/") -> Process:
    """Apache in the foreground on 127.0.0.1:port with `config` (which must set its own
    Listen, PidFile, ErrorLog, Mutex and DefaultRuntimeDir under tmp)."""
    (tmp / "httpd.conf").write_text(config)
    binary = apache_binary()
    test = subprocess.run(
        [binary, "-t", "-f", str(tmp / "httpd.conf")], capture_output=True, text=True, timeout=20
    )
    if test.returncode != 0:
        raise RuntimeError(f"apache2 -t refused the config:\n{test.stderr}{test.stdout}")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "APACHE_RUN_DIR": str(tmp)}
    args = [binary, "-f", str(tmp / "httpd.conf"), "-DFOREGROUND"]
    process = Process("apache", args, env=env, log_dir=tmp, stop_signal=signal.SIGTERM)
    try:
        wait_until_up(f"http://127.0.0.1:{port}{ready_path}", process, timeout=20)
    except Exception:
        process.stop()
        error_log = tmp / "error.log"
        if error_log.exists():
            raise RuntimeError(f"Apache did not start:\n{error_log.read_text()[-3000:]}") from None
        raise
    return process


# --- PostgreSQL ---------------------------------------------------------------------------------


def sibling_database_url(database_url: str, suffix: str) -> str:
    """The URL of a database next to `database_url`'s, named with `suffix`."""
    parsed = urlparse(database_url)
    return urlunparse(parsed._replace(path=parsed.path.rstrip("/") + suffix))


def recreate_database(database_url: str, *, drop_only: bool = False) -> None:
    import psycopg
    from psycopg import sql

    parsed = urlparse(database_url)
    name = parsed.path.lstrip("/")
    admin = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        if not drop_only:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def forget_cache(redis_url: str, prefix: str) -> None:
    """Delete the keys a Warden with CACHE_KEY_PREFIX=prefix left in Redis, nothing else."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    try:
        for key in client.scan_iter(match=f"{prefix}:*", count=500):
            client.delete(key)
    finally:
        client.close()


# --- Small WSGI services in threads -------------------------------------------------------------


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args) -> None:
        pass


class ThreadedService:
    """A WSGI app served on loopback from a background thread."""

    def __init__(self, app, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.server = make_server(
            "127.0.0.1", port, app, server_class=_ThreadingServer, handler_class=_QuietHandler
        )
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
