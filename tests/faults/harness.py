"""Private PostgreSQL and Redis servers that a fault test may stop and start at will.

Never the machine's own: each is a fresh server in a temporary directory, on a free loopback
port, owned by the test. `private_postgres()` and `private_redis()` yield a controller with
`url`, `stop()` and `start()`; the context exit, an atexit hook and the parent-death signal
(the servers die with pytest) each make sure nothing outlives the run.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.e2e.harness import Process, free_port

_running: list[_Server] = []


@atexit.register
def _stop_leftovers() -> None:
    for server in list(_running):
        with contextlib.suppress(Exception):
            server.close()


def postgres_bindir() -> Path | None:
    """The directory holding initdb and postgres: pg_config's, else Debian's newest."""
    candidates = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10
            ).stdout.strip()
            if out:
                candidates.append(Path(out))
    candidates += sorted(
        (Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for initdb in (shutil.which("initdb"),):
        if initdb:
            candidates.append(Path(initdb).parent)
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "postgres").is_file():
            return directory
    return None


def redis_binary() -> str | None:
    return shutil.which("redis-server")


def _unprivileged_prefix() -> tuple[list[str], int | None, int | None]:
    """PostgreSQL refuses to run as root: run it as the `postgres` (or `nobody`) OS user."""
    if os.geteuid() != 0:
        return [], None, None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            setpriv = shutil.which("setpriv")
            if setpriv is None:
                raise RuntimeError("running as root needs setpriv to drop to an unprivileged user")
            prefix = [
                setpriv,
                f"--reuid={entry.pw_uid}",
                f"--regid={entry.pw_gid}",
                "--clear-groups",
                # Changing uid clears the parent-death signal Process set: set it again.
                "--pdeathsig=INT",
                "--",
            ]
            return prefix, entry.pw_uid, entry.pw_gid
    raise RuntimeError("running as root, and no unprivileged `postgres` or `nobody` user")


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class _Server:
    name = "server"

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.process: Process | None = None
        self.starts = 0
        _running.append(self)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.alive()

    def _args(self) -> list[str]:
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError

    stop_signal = signal.SIGTERM
    env: dict | None = None

    def start(self, *, timeout: float = 30) -> None:
        if self.running:
            return
        self.starts += 1
        self.process = Process(
            f"{self.name}-{self.starts}",
            self._args(),
            env=self.env or dict(os.environ),
            log_dir=self.tmp,
            stop_signal=self.stop_signal,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.process.alive():
                raise RuntimeError(f"{self.name} exited early:\n{self.process.log()[-4000:]}")
            if self._ready():
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {timeout}s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            # Down means down: nothing may still accept on the port.
            deadline = time.monotonic() + 10
            while _port_open(self.port) and time.monotonic() < deadline:
                time.sleep(0.05)

    def log(self) -> str:
        return self.process.log() if self.process else ""

    def close(self) -> None:
        self.stop()
        if self in _running:
            _running.remove(self)
        shutil.rmtree(self.tmp, ignore_errors=True)


class PrivatePostgres(_Server):
    name = "postgres"
    stop_signal = signal.SIGINT  # fast shutdown: ends the clients' sessions, as an outage does

    def __init__(self, tmp: Path, bindir: Path) -> None:
        super().__init__(tmp)
        self.bindir = bindir
        self.prefix, uid, gid = _unprivileged_prefix()
        self.data = tmp / "data"
        if uid is not None:
            os.chown(tmp, uid, gid)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        self.env["LC_ALL"] = "C"
        result = subprocess.run(
            [
                *self.prefix,
                str(bindir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",  # loopback only, a throwaway cluster
                "--no-sync",
                "-E",
                "UTF8",
            ],
            env=self.env,
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{result.stdout}\n{result.stderr}")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/warden"

    def _args(self) -> list[str]:
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.tmp),
            "fsync": "off",
            "full_page_writes": "off",
            "synchronous_commit": "off",
            "max_connections": "50",
        }
        args = [*self.prefix, str(self.bindir / "postgres"), "-D", str(self.data)]
        for name, value in settings.items():
            args += ["-c", f"{name}={value}"]
        return args

    def _ready(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(
                f"postgres://postgres@127.0.0.1:{self.port}/postgres", connect_timeout=2
            ):
                return True
        except psycopg.Error:
            return False

    def create_database(self, name: str = "warden") -> None:
        import psycopg

        admin = f"postgres://postgres@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')


class PrivateRedis(_Server):
    name = "redis"

    def __init__(self, tmp: Path, binary: str) -> None:
        super().__init__(tmp)
        self.binary = binary
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def _args(self) -> list[str]:
        return [
            self.binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.tmp),
            "--daemonize",
            "no",
        ]

    def _ready(self) -> bool:
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def snapshot(self) -> None:
        """Write dump.rdb now; the next start() loads it (the state of this moment)."""
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)
        try:
            client.save()
        finally:
            client.close()

    def flush(self) -> None:
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)
        try:
            client.flushdb()
        finally:
            client.close()


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A running PostgreSQL of our own, with a database `warden`; url, stop(), start()."""
    bindir = postgres_bindir()
    if bindir is None:
        raise RuntimeError("needs PostgreSQL server binaries (initdb, postgres)")
    server = PrivatePostgres(Path(tempfile.mkdtemp(prefix="warden-pg-")), bindir)
    try:
        server.start()
        server.create_database()
        yield server
    finally:
        server.close()


@contextlib.contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    """A running redis-server of our own (no persistence); url, stop(), start(), flush()."""
    binary = redis_binary()
    if binary is None:
        raise RuntimeError("needs redis-server")
    server = PrivateRedis(Path(tempfile.mkdtemp(prefix="warden-redis-")), binary)
    try:
        server.start()
        yield server
    finally:
        server.close()
