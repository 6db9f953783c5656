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
from dataclasses import dataclass
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

    def __init__(self, tmp: Path, bindir: Path, *, initdb: bool = True) -> None:
        super().__init__(tmp)
        self.bindir = bindir
        self.prefix, uid, gid = _unprivileged_prefix()
        self.data = tmp / "data"
        if uid is not None:
            os.chown(tmp, uid, gid)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        self.env["LC_ALL"] = "C"
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/warden"
        if initdb:
            self._initdb()

    def _initdb(self) -> None:
        result = subprocess.run(
            [
                *self.prefix,
                str(self.bindir / "initdb"),
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
            cwd=self.tmp,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{result.stdout}\n{result.stderr}")

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

    def query(self, sql: str, params=(), *, database: str = "warden") -> list[tuple]:
        """Rows of one statement on this server (autocommit)."""
        import psycopg

        url = f"postgres://postgres@127.0.0.1:{self.port}/{database}"
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def replica(self) -> PrivatePostgres:
        """A streaming replica of this server (pg_basebackup -R), started; a hot standby."""
        tmp = Path(tempfile.mkdtemp(prefix="warden-pg-replica-"))
        standby = PrivatePostgres(tmp, self.bindir, initdb=False)
        result = subprocess.run(
            [
                *standby.prefix,
                str(self.bindir / "pg_basebackup"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-D",
                str(standby.data),
                "-X",
                "stream",
                "-R",  # standby.signal and primary_conninfo: follow this server
                "--checkpoint=fast",
                "--no-sync",
            ],
            env=standby.env,
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            standby.close()
            raise RuntimeError(f"pg_basebackup failed:\n{result.stdout}\n{result.stderr}")
        standby.start()
        return standby

    def in_recovery(self) -> bool:
        return self.query("SELECT pg_is_in_recovery()", database="postgres")[0][0]

    def promote(self) -> None:
        """A standby becomes a primary (what `pg_ctl promote` does), waiting until it is."""
        self.query("SELECT pg_promote(true, 30)", database="postgres")

    def replay_lag_bytes(self, standby: PrivatePostgres) -> int:
        """How far `standby` is behind this primary's current WAL position, in bytes."""
        lsn = self.query("SELECT pg_current_wal_lsn()::text", database="postgres")[0][0]
        replayed = standby.query(
            "SELECT pg_wal_lsn_diff(%s::pg_lsn, pg_last_wal_replay_lsn())::bigint",
            (lsn,),
            database="postgres",
        )[0][0]
        return max(int(replayed or 0), 0)

    def create_database(self, name: str = "warden") -> None:
        import psycopg

        admin = f"postgres://postgres@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')


class PrivateRedis(_Server):
    name = "redis"

    def __init__(self, tmp: Path, binary: str, *, replica_of: int | None = None) -> None:
        super().__init__(tmp)
        self.binary = binary
        self.replica_of = replica_of
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def _args(self) -> list[str]:
        follow = ["--replicaof", "127.0.0.1", str(self.replica_of)] if self.replica_of else []
        return [
            self.binary,
            *follow,
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

    @contextlib.contextmanager
    def _client(self, timeout: float):
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=timeout)
        try:
            yield client
        finally:
            client.close()

    def _ready(self) -> bool:
        import redis

        with self._client(1) as client:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

    def snapshot(self) -> None:
        """Write dump.rdb now; the next start() loads it (the state of this moment)."""
        with self._client(5) as client:
            client.save()

    def flush(self) -> None:
        with self._client(5) as client:
            client.flushdb()


class PrivateSentinel(_Server):
    """`redis-server --sentinel` watching one master as service `name`, failing over fast."""

    name = "sentinel"

    def __init__(self, tmp: Path, binary: str, *, master_port: int, quorum: int) -> None:
        super().__init__(tmp)
        self.binary = binary
        self.conf = tmp / "sentinel.conf"
        # Sentinel rewrites its file (the current master, the peers it learnt of).
        self.conf.write_text(
            f"port {self.port}\n"
            "bind 127.0.0.1\n"
            f"dir {tmp}\n"
            f"sentinel monitor {SENTINEL_SERVICE} 127.0.0.1 {master_port} {quorum}\n"
            f"sentinel down-after-milliseconds {SENTINEL_SERVICE} 1000\n"
            f"sentinel failover-timeout {SENTINEL_SERVICE} 5000\n"
            f"sentinel parallel-syncs {SENTINEL_SERVICE} 1\n"
        )

    def _args(self) -> list[str]:
        return [self.binary, str(self.conf), "--sentinel"]

    def _ready(self) -> bool:
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def master_port(self) -> int | None:
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1)
        try:
            host_port = client.execute_command(
                "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SENTINEL_SERVICE
            )
            return int(host_port[1]) if host_port else None
        except redis.RedisError:
            return None
        finally:
            client.close()


SENTINEL_SERVICE = "warden"


@dataclass
class RedisWithSentinel:
    master: PrivateRedis
    replica: PrivateRedis
    sentinels: list[PrivateSentinel]

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{SENTINEL_SERVICE}/0"

    def current_master_port(self) -> int | None:
        ports = {s.master_port() for s in self.sentinels if s.running}
        return ports.pop() if len(ports) == 1 else None

    def wait_replicated(self, timeout: float = 10) -> None:
        """Until the replica has every write the master took (offsets equal)."""
        import redis

        deadline = time.monotonic() + timeout
        master = redis.Redis(host="127.0.0.1", port=self.master.port, socket_timeout=1)
        try:
            while time.monotonic() < deadline:
                info = master.info("replication")
                replicas = [v for k, v in info.items() if k.startswith("slave")]
                offset = info.get("master_repl_offset")
                if replicas and all(r.get("offset") == offset for r in replicas):
                    return
                time.sleep(0.05)
        finally:
            master.close()
        raise RuntimeError("Redis replica did not catch up")

    def wait_sentinels_know_replica(self, timeout: float = 20) -> None:
        """Until every sentinel lists the replica and its peers: only then can one fail over."""
        import redis

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = 0
            for sentinel in self.sentinels:
                client = redis.Redis(host="127.0.0.1", port=sentinel.port, socket_timeout=1)
                try:
                    fields = client.sentinel_master(SENTINEL_SERVICE)
                    replicas = int(fields.get("num-slaves", 0))
                    peers = int(fields.get("num-other-sentinels", 0))
                    if replicas >= 1 and peers >= len(self.sentinels) - 1:
                        ready += 1
                except redis.RedisError:
                    pass
                finally:
                    client.close()
            if ready == len(self.sentinels):
                return
            time.sleep(0.2)
        raise RuntimeError("sentinels never saw the replica and each other")


@contextlib.contextmanager
def private_redis_with_sentinel(sentinels: int = 3) -> Iterator[RedisWithSentinel]:
    """A Redis master, one replica, and `sentinels` sentinels (quorum: a majority)."""
    binary = redis_binary()
    if binary is None:
        raise RuntimeError("needs redis-server")
    servers: list[_Server] = []
    try:
        master = PrivateRedis(Path(tempfile.mkdtemp(prefix="warden-redis-m-")), binary)
        servers.append(master)
        master.start()
        replica = PrivateRedis(
            Path(tempfile.mkdtemp(prefix="warden-redis-r-")), binary, replica_of=master.port
        )
        servers.append(replica)
        replica.start()
        watchers = []
        for _ in range(sentinels):
            sentinel = PrivateSentinel(
                Path(tempfile.mkdtemp(prefix="warden-sentinel-")),
                binary,
                master_port=master.port,
                quorum=sentinels // 2 + 1,
            )
            servers.append(sentinel)
            sentinel.start()
            watchers.append(sentinel)
        group = RedisWithSentinel(master=master, replica=replica, sentinels=watchers)
        group.wait_sentinels_know_replica()
        yield group
    finally:
        for server in reversed(servers):
            server.close()


@contextlib.contextmanager
def private_postgres_with_replica() -> Iterator[tuple[PrivatePostgres, PrivatePostgres]]:
    """A primary with a database `warden` and a streaming replica of it, both running."""
    with private_postgres() as primary:
        standby = primary.replica()
        try:
            yield primary, standby
        finally:
            standby.close()


# --- gunicorn's workers -------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    """The pids whose parent is `pid` (gunicorn's master: its workers)."""
    found = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            text = Path(stat).read_text()
            # pid (comm) state ppid ...: comm may hold spaces and parentheses.
            ppid = int(text.rpartition(")")[2].split()[1])
            if ppid == pid:
                found.append(int(text.split(" ", 1)[0]))
    return sorted(found)


def vm_rss_kb(pid: int) -> int | None:
    """Resident memory of a process (VmRSS, kB), None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def wait_for_workers(master_pid: int, count: int, *, timeout: float = 20) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = children(master_pid)
        if len(pids) >= count:
            return pids
        time.sleep(0.05)
    raise RuntimeError(f"gunicorn has {len(children(master_pid))} workers, not {count}")


# --- nginx in front of a Warden -------------------------------------------------------------------


def start_gateway(tmp: Path, *, warden_port: int, gateway_port: int) -> Process:
    """nginx with deploy/nginx's snippets before one Warden (tests/faults' template)."""
    from tests.e2e.harness import REPO, nginx_binary, wait_until_up

    user_line = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    config = (
        (Path(__file__).parent / "gateway.nginx.conf.template")
        .read_text()
        .replace("@@USER_LINE@@", user_line)
        .replace("@@TMP@@", str(tmp))
        .replace("@@SNIPPETS@@", str(REPO / "deploy" / "nginx"))
        .replace("@@WARDEN@@", str(warden_port))
        .replace("@@GATEWAY@@", str(gateway_port))
    )
    (tmp / "nginx.conf").write_text(config)
    args = [nginx_binary(), "-p", str(tmp), "-e", str(tmp / "error.log")]
    args += ["-c", str(tmp / "nginx.conf")]
    process = Process("nginx", args, env=dict(os.environ), log_dir=tmp)
    try:
        wait_until_up(f"http://127.0.0.1:{gateway_port}/healthz", process, timeout=20)
    except Exception:
        process.stop()
        raise
    return process


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
