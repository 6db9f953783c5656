"""`make bench`: servers compared, then Warden against a vanilla SimpleJWT project, with wrk.

Both projects are migrated, wiped and seeded (their databases are the bench's own). First the
round trips per request are counted in process (bench/roundtrips.py); then the bare view and
Warden's verify run under each server in BENCH_COMPARE (2 processes each); then every endpoint
runs with Warden under BENCH_SERVER and the reference under BENCH_REFERENCE_SERVER (gunicorn
sync, as a vanilla project runs), each for BENCH_SECONDS after BENCH_WARMUP_SECONDS of the same
request (not counted); then sessions are logged out one at a
time to time the SDK's refusal; with BENCH_SCALE=1, Warden's rows run again over 1,000,000
sessions. Prints the tables and the targets held or missed, and writes
bench/results/results.json and results.png. Settings come from the environment (CONFIG
below); a run is bounded in time and stops every process it started.
"""

from __future__ import annotations

import base64
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
WORK = BENCH / ".work"
PYTHON = sys.executable


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def env_list(name: str, default: str) -> list[str]:
    value = os.environ.get(name)
    return [s for s in (default if value is None else value).split(",") if s and s != "none"]


SERVER_NAMES = ("gunicorn-gthread", "gunicorn-sync", "granian", "uvicorn")
CONFIG = {
    "seconds": env_int("BENCH_SECONDS", 10),
    "connections": env_int("BENCH_CONNECTIONS", 64),
    "wrk_threads": env_int("BENCH_WRK_THREADS", 1),
    # Warden's server (BENCH_SERVER, one of SERVER_NAMES): the one the comparison below chose
    # on 2 cores (README: Performance). Two processes for two cores: the GIL lets one process
    # use one core, more only add memory and context switches.
    "server": os.environ.get("BENCH_SERVER") or "granian",
    "workers": env_int("BENCH_WORKERS", 2),
    # Threads per process where the server has them (gunicorn gthread, granian's blocking
    # threads): they overlap the waits on PostgreSQL, Redis and Argon2 (which drops the GIL).
    "threads": env_int("BENCH_THREADS", 4),
    # The vanilla peer runs as a vanilla project usually does: gunicorn, sync, 2 workers.
    "reference_server": os.environ.get("BENCH_REFERENCE_SERVER") or "gunicorn-sync",
    # Servers compared on the bare view and verify before the main rows ("none": skip).
    "compare": env_list("BENCH_COMPARE", ",".join(SERVER_NAMES)),
    "scale": env_int("BENCH_SCALE", 0),
    # Seconds of the same request before each measured run, not counted: a process's first
    # requests load its URL table, keys and revoked set, which put a start-up tail on p99.
    # Rows of single-use items (refresh tokens) get none: their pool would be spent twice.
    "warmup": env_int("BENCH_WARMUP_SECONDS", 2),
    "port": env_int("BENCH_PORT", 18700),
    "database_url": os.environ.get("BENCH_DATABASE_URL")
    or "postgres://postgres@127.0.0.1:5432/warden_bench",
    "reference_database_url": os.environ.get("BENCH_REFERENCE_DATABASE_URL")
    or "postgres://postgres@127.0.0.1:5432/warden_bench_ref",
    "redis_url": os.environ.get("BENCH_REDIS_URL") or "redis://127.0.0.1:6379/7",
    "only": env_list("BENCH_ONLY", ""),
}
CONFIG["refresh_pool"] = env_int("BENCH_REFRESH_POOL", 1200 * CONFIG["seconds"])
for _name in (CONFIG["server"], CONFIG["reference_server"], *CONFIG["compare"]):
    if _name not in SERVER_NAMES:
        raise SystemExit(f"Unknown server {_name!r}: one of {', '.join(SERVER_NAMES)}")

# Warden's endpoints and their vanilla SimpleJWT counterparts (the ratios in the table).
PAIRS = {"verify": "verify", "refresh": "refresh", "login": "obtain", "me": "me"}

# Targets (issue 17): printed by `make bench` with whether each held.
TARGETS = {
    "verify_rps": 6000,
    "verify_vs_bare": 0.85,
    "verify_p99_ms": 20,
    "refresh_rps": 600,
    "client_credentials_rps": 1500,
    "login_vs_hasher": 0.90,
    "revocation_p99_s": 1.0,
    "scale_within": 0.10,
}

# Instances: the project each serves and which server it runs under. "floor" is the reference
# project under Warden's server, for the bare view Warden's verify is held against.
PROJECT_OF = {"warden": "warden", "reference": "reference", "floor": "reference"}


def load_runs(warden_seed: dict, ref_seed: dict) -> list[tuple[str, str, dict]]:
    """(instance, name, request) in the order they run: Warden's and the reference's
    counterparts alternate so that drift in a shared machine's load hits both sides alike."""
    basic = base64.b64encode(
        f"{warden_seed['client_id']}:{warden_seed['client_secret']}".encode()
    ).decode()
    w, r = WORK / "warden", WORK / "reference"
    bearer_w = {"BENCH_POOL": f"{w}-access.txt", "BENCH_AUTH": "Bearer {item}"}
    runs = [
        ("floor", "bare", {"BENCH_PATH": "/bare/"}),
        ("warden", "verify", {"BENCH_PATH": "/api/auth/verify", **bearer_w}),
        (
            "reference",
            "verify",
            {
                "BENCH_METHOD": "POST",
                "BENCH_PATH": "/api/token/verify/",
                "BENCH_POOL": f"{r}-access.txt",
                "BENCH_BODY": '{"token": "{item}"}',
            },
        ),
        ("reference", "bare", {"BENCH_PATH": "/bare/"}),
        (
            "warden",
            "client_credentials",
            {
                "BENCH_METHOD": "POST",
                "BENCH_PATH": "/api/auth/token",
                "BENCH_AUTH": f"Basic {basic}",
                "BENCH_BODY": "grant_type=client_credentials",
                "BENCH_CONTENT_TYPE": "application/x-www-form-urlencoded",
            },
        ),
        ("warden", "me", {"BENCH_PATH": "/api/auth/me", **bearer_w}),
        (
            "reference",
            "me",
            {
                "BENCH_PATH": "/api/me/",
                "BENCH_POOL": f"{r}-access.txt",
                "BENCH_AUTH": "Bearer {item}",
            },
        ),
        (
            "warden",
            "refresh",
            {
                "BENCH_METHOD": "POST",
                "BENCH_PATH": "/api/auth/refresh",
                "BENCH_POOL": f"{w}-refresh.txt",
                "BENCH_POOL_ONCE": "1",
                "BENCH_BODY": '{"refresh_token": "{item}"}',
            },
        ),
        (
            "reference",
            "refresh",
            {
                "BENCH_METHOD": "POST",
                "BENCH_PATH": "/api/token/refresh/",
                "BENCH_POOL": f"{r}-refresh.txt",
                "BENCH_POOL_ONCE": "1",
                "BENCH_BODY": '{"refresh": "{item}"}',
            },
        ),
        (
            "warden",
            "login",
            {
                "BENCH_METHOD": "POST",
                "BENCH_PATH": "/api/auth/login",
                "BENCH_POOL": f"{w}-emails.txt",
                "BENCH_BODY": json.dumps({"email": "{item}", "password": warden_seed["password"]}),
            },
        ),
        (
            "reference",
            "obtain",
            {
                "BENCH_METHOD": "POST",
                "BENCH_PATH": "/api/token/",
                "BENCH_POOL": f"{r}-usernames.txt",
                "BENCH_BODY": json.dumps({"username": "{item}", "password": ref_seed["password"]}),
            },
        ),
    ]
    only = CONFIG["only"]
    return [run for run in runs if not only or f"{run[0]}:{run[1]}" in only or run[1] in only]


# --- Processes ----------------------------------------------------------------------------------


def project_env(project: str) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    base["PYTHONPATH"] = str(ROOT)
    # Same for both projects: glibc raises its mmap threshold after the first 19 MiB Argon2
    # buffer is freed, then serves later ones from per-thread arenas that keep the memory
    # (~19 MiB per gunicorn thread). A fixed threshold returns each buffer when the hash ends.
    base.setdefault("MALLOC_MMAP_THRESHOLD_", str(1024 * 1024))
    base["BENCH_WORK_DIR"] = str(WORK)
    if project == "warden":
        port = CONFIG["port"]
        return {
            **base,
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "DEBUG": "false",
            "DATABASE_URL": CONFIG["database_url"],
            "REDIS_URL": CONFIG["redis_url"],
            "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
            "WARDEN_KEY_ENCRYPTION_KEY": "bench-only-key-encryption-key",
            "WARDEN_ISSUER": f"http://127.0.0.1:{port}",
            # Every request comes from 127.0.0.1: lift the per-IP failed-login limit, which
            # would otherwise (rightly) throttle a load generator after 30 attempts.
            "LOGIN_IP_RATE": "1000000/m",
            "PROMETHEUS_MULTIPROC_DIR": str(WORK / "prometheus"),
            "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL") or "WARNING",
        }
    return {
        **base,
        "DJANGO_SETTINGS_MODULE": "bench.reference.settings",
        "REFERENCE_DATABASE_URL": CONFIG["reference_database_url"],
    }


def manage(project: str, *args: str) -> None:
    script = "manage.py" if project == "warden" else "bench/reference/manage.py"
    subprocess.run(
        [PYTHON, script, *args], cwd=ROOT, env=project_env(project), check=True, timeout=600
    )


def prepare(project: str) -> dict:
    manage(project, "migrate", "--noinput", "-v", "0")
    manage(project, "flush", "--noinput")
    subprocess.run(
        [PYTHON, "bench/seed.py", project, str(WORK), str(CONFIG["refresh_pool"])],
        cwd=ROOT,
        env=project_env(project),
        check=True,
        timeout=900,
    )
    return json.loads((WORK / f"{project}-seed.json").read_text())


def ensure_database(url: str) -> None:
    """Create the bench's database if it is missing, so `make bench` runs on a fresh server."""
    import psycopg
    from psycopg import sql

    parsed = urllib.parse.urlparse(url)
    name = parsed.path.lstrip("/")
    try:
        psycopg.connect(url, connect_timeout=5).close()
        return
    except psycopg.OperationalError as exc:
        if f'"{name}" does not exist' not in str(exc):
            raise SystemExit(f"PostgreSQL is not reachable at {parsed.hostname}: {exc}") from exc
    admin_url = urllib.parse.urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    print(f"Created database {name}")


def check_redis(url: str) -> None:
    parsed = urllib.parse.urlparse(url)
    try:
        socket.create_connection((parsed.hostname, parsed.port or 6379), timeout=2).close()
    except OSError as exc:
        raise SystemExit(f"Redis is not reachable at {url}: {exc} (set BENCH_REDIS_URL)") from exc


def reference_keys() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (WORK / "reference-private.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (WORK / "reference-public.pem").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def port_of(instance: str) -> int:
    return CONFIG["port"] + {"warden": 0, "reference": 1, "floor": 2}[instance]


def server_command(server: str, project: str, port: int) -> list[str]:
    """The same shape under every server: 2 processes on 127.0.0.1, no access log."""
    wsgi = "config.wsgi:application" if project == "warden" else "bench.reference.wsgi:application"
    asgi = "config.asgi:application" if project == "warden" else "bench.reference.asgi:application"
    workers, threads = str(CONFIG["workers"]), str(CONFIG["threads"])
    if server.startswith("gunicorn-"):
        worker_class = server.removeprefix("gunicorn-")
        return [
            *(PYTHON, "-m", "gunicorn", wsgi, "--bind", f"127.0.0.1:{port}"),
            *("--workers", workers, "--worker-class", worker_class, "--threads", threads),
            *("--backlog", "2048", "--timeout", "60"),
        ]
    if server == "granian":
        # The same flags as deploy/granian.env (GRANIAN_* variables there).
        return [
            *(PYTHON, "-m", "granian", wsgi, "--interface", "wsgi"),
            *("--host", "127.0.0.1", "--port", str(port), "--http", "1", "--no-ws"),
            *("--workers", workers, "--blocking-threads", threads, "--runtime-threads", "1"),
            *("--backlog", "2048", "--no-access-log", "--log-level", "warning"),
        ]
    return [
        *(PYTHON, "-m", "uvicorn", asgi, "--host", "127.0.0.1", "--port", str(port)),
        *("--workers", workers, "--loop", "uvloop", "--http", "httptools"),
        *("--lifespan", "off", "--backlog", "2048", "--no-access-log", "--log-level", "warning"),
    ]


def serve(instance: str, server: str) -> subprocess.Popen:
    project = PROJECT_OF[instance]
    env = project_env(project)
    if project == "warden":  # a fresh multiprocess directory: old workers' files would count
        shutil.rmtree(env["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
        os.makedirs(env["PROMETHEUS_MULTIPROC_DIR"])
    log = open(WORK / f"{instance}-{server}.log", "w")  # noqa: SIM115 (closed with the process)
    process = subprocess.Popen(
        server_command(server, project, port_of(instance)),
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    process.server = server  # type: ignore[attr-defined]
    return process


def start(plan: dict[str, str]) -> dict[str, subprocess.Popen]:
    """Start {instance: server} and wait until each answers."""
    servers = {instance: serve(instance, server) for instance, server in plan.items()}
    try:
        for instance in servers:
            wait_ready(instance, "/healthz" if instance == "warden" else "/bare/")
        # A request to each process, so none is still importing when the load starts.
        time.sleep(1)
    except BaseException:
        stop_all(servers)
        raise
    return servers


def stop_all(servers: dict[str, subprocess.Popen]) -> None:
    for process in servers.values():
        stop(process)


def wait_ready(project: str, path: str, deadline: float = 60.0) -> None:
    url = f"http://127.0.0.1:{port_of(project)}{path}"
    start = time.monotonic()
    while time.monotonic() - start < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{project} did not answer {url} within {deadline:.0f}s; see {WORK}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM: the most resident memory this process has ever had."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


# --- Load ---------------------------------------------------------------------------------------


def measured(project: str, request: dict) -> dict:
    """wrk's figures for `request`, after a warm-up of the same request (CONFIG["warmup"])."""
    if CONFIG["warmup"] and request.get("BENCH_POOL_ONCE") != "1":
        wrk(project, request, seconds=CONFIG["warmup"])
    return wrk(project, request)


def wrk(project: str, request: dict, *, seconds: int = 0) -> dict:
    seconds = seconds or CONFIG["seconds"]
    env = {**os.environ, "BENCH_THREADS": str(CONFIG["wrk_threads"]), **request}
    command = [
        "wrk",
        "-t",
        str(CONFIG["wrk_threads"]),
        "-c",
        str(CONFIG["connections"]),
        "-d",
        f"{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(BENCH / "load.lua"),
        f"http://127.0.0.1:{port_of(project)}",
    ]
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 60)
    line = next((x for x in out.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if line is None:
        raise SystemExit(f"wrk gave no result:\n{out.stdout}\n{out.stderr}")
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    seconds = raw["duration_us"] / 1e6
    ok = raw["requests"] - raw["non_2xx"]
    return {
        "requests": raw["requests"],
        "rps": round(ok / seconds, 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p90_ms": round(raw["p90_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "max_ms": round(raw["max_us"] / 1000, 2),
        "errors": raw["non_2xx"] + raw["socket_errors"] + raw["timeouts"],
        "pool_exhausted": raw["pool_exhausted"],
    }


def scrape_metrics() -> dict:
    """Warden's own counters after the run: with several workers they must add up to what wrk
    sent, which shows prometheus-client's multiprocess mode works under gunicorn."""
    from prometheus_client.parser import text_string_to_metric_families

    url = f"http://127.0.0.1:{port_of('warden')}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    wanted = {
        "verify_active": ("warden_verify_total", {"result": "active"}),
        "sign_ins": ("warden_sign_ins_total", {"outcome": "success"}),
        "refreshes": ("warden_refreshes_total", {}),
    }
    totals = dict.fromkeys(wanted, 0.0)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            for key, (name, labels) in wanted.items():
                if sample.name == name and labels.items() <= sample.labels.items():
                    totals[key] += sample.value
    return totals


def micro() -> dict:
    out = subprocess.run(
        [PYTHON, "bench/micro.py"],
        cwd=ROOT,
        env=project_env("warden"),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- Report -------------------------------------------------------------------------------------


def workers_of(process: subprocess.Popen) -> list[int]:
    """The server's worker processes (its children, less multiprocessing's helpers)."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    pids = [int(pid) for pid in children.read_text().split()] if children.exists() else []
    out = []
    for pid in pids:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"resource_tracker" not in cmdline:
            out.append(pid)
    return out


def roundtrips(seed: dict) -> dict:
    """SQL queries, commits and Redis commands per request, counted in process."""
    out = subprocess.run(
        [
            *(PYTHON, "bench/roundtrips.py", str(WORK)),
            *(seed["client_id"], seed["client_secret"], seed["password"]),
        ],
        cwd=ROOT,
        env=project_env("warden"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    (WORK / "roundtrips.log").write_text(out.stderr)  # with BENCH_PROFILE: the profiles
    if out.returncode != 0:
        raise SystemExit(f"bench/roundtrips.py failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def revocation_to_refusal() -> dict:
    """Log out seeded sessions one at a time; after each, ask the SDK (TokenVerifier with
    online=True; the feed is measured by tests/client/test_revocation_feed.py) until it refuses.
    The time counts from sending the logout to the first refusal; the online check lands on
    either worker, so about half the refusals come from the process that did not log out and
    learnt of it from the revocation channel."""
    sys.path.insert(0, str(ROOT))
    import warden_client

    port = port_of("warden")
    verifier = warden_client.TokenVerifier(
        issuer=f"http://127.0.0.1:{port}", audience="warden", base_url=f"http://127.0.0.1:{port}"
    )
    pairs = json.loads((WORK / "warden-revocable.json").read_text())
    times, passed_after, errors = [], 0, 0
    for pair in pairs:
        verifier.verify(pair["access"], online=True)  # live before the logout
        body = json.dumps({"refresh_token": pair["refresh"]}).encode()
        logout = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/auth/logout",
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        started = time.perf_counter()
        with urllib.request.urlopen(logout, timeout=10) as response:
            if response.status != 204:
                errors += 1
                continue
        while True:
            try:
                verifier.verify(pair["access"], online=True)
                passed_after += 1
            except warden_client.TokenRevoked:
                times.append(time.perf_counter() - started)
                break
            if time.perf_counter() - started > 10:
                errors += 1
                break
    times.sort()
    pick = lambda q: round(times[min(len(times) - 1, int(q * len(times)))] * 1000, 2)  # noqa: E731
    return {
        "mode": "TokenVerifier.verify(online=True); the feed: tests/client/test_revocation_feed.py",
        "sessions": len(pairs),
        "refused": len(times),
        "p50_ms": pick(0.50) if times else None,
        "p99_ms": pick(0.99) if times else None,
        "max_ms": round(times[-1] * 1000, 2) if times else None,
        "accepted_after_logout": passed_after,
        "errors": errors,
    }


def compare_servers(warden_seed: dict, ref_seed: dict) -> list[dict]:
    """The bare view and verify under each server, 2 processes each, one server at a time."""
    wanted = {("floor", "bare"), ("warden", "verify")}
    runs = [run for run in load_runs(warden_seed, ref_seed) if (run[0], run[1]) in wanted]
    rows = []
    for server in CONFIG["compare"]:
        servers = start({"warden": server, "floor": server})
        try:
            for instance, name, request in runs:
                time.sleep(1)
                result = measured(instance, request)
                rows.append({"server": server, "endpoint": name, **result})
                print(f"  {server:<17} {name:<8} {result['rps']:>9.1f} req/s", flush=True)
        finally:
            stop_all(servers)
    by = {(r["server"], r["endpoint"]): r for r in rows}
    for row in rows:
        bare = by.get((row["server"], "bare"))
        if row["endpoint"] == "verify" and bare and bare["rps"]:
            row["vs_bare"] = round(row["rps"] / bare["rps"], 3)
    return rows


def held(value, target, *, at_most: bool = False) -> bool | None:
    if value is None:
        return None
    return value <= target if at_most else value >= target


def targets(report: dict) -> list[dict]:
    by = {(r["project"], r["endpoint"]): r for r in report["rows"]}
    verify, bare = by.get(("warden", "verify")), by.get(("floor", "bare"))
    rt = report.get("roundtrips", {})
    hasher = report["micro"]["hasher"]["limit_per_s"]
    revocation = report.get("revocation") or {}
    rps = lambda name: by[("warden", name)]["rps"] if ("warden", name) in by else None  # noqa: E731
    out = []

    def add(name, target, value, ok, unit=""):
        out.append({"target": name, "goal": target, "measured": value, "held": ok, "unit": unit})

    add(
        "verify req/s",
        f">= {TARGETS['verify_rps']:,}",
        rps("verify"),
        held(rps("verify"), TARGETS["verify_rps"]),
    )
    ratio = round(verify["rps"] / bare["rps"], 3) if verify and bare and bare["rps"] else None
    add(
        "verify / bare view (same server)",
        f">= {TARGETS['verify_vs_bare']:.0%}",
        ratio,
        held(ratio, TARGETS["verify_vs_bare"]),
    )
    p99 = verify["p99_ms"] if verify else None
    add(
        f"verify p99 at {CONFIG['connections']} connections",
        f"<= {TARGETS['verify_p99_ms']} ms",
        p99,
        held(p99, TARGETS["verify_p99_ms"], at_most=True),
        "ms",
    )
    if "verify" in rt:
        calls = rt["verify"]["sql_queries"] + rt["verify"]["redis_commands"]
        add(
            "verify queries + Redis commands per request (steady state)",
            "0",
            calls,
            calls == 0 and rt.get("steady_state", False),
        )
    add(
        "refresh req/s (rotation, reuse detection)",
        f">= {TARGETS['refresh_rps']}",
        rps("refresh"),
        held(rps("refresh"), TARGETS["refresh_rps"]),
    )
    add(
        "client_credentials req/s",
        f">= {TARGETS['client_credentials_rps']:,}",
        rps("client_credentials"),
        held(rps("client_credentials"), TARGETS["client_credentials_rps"]),
    )
    login = round(rps("login") / hasher, 3) if rps("login") is not None and hasher else None
    add(
        "login / hasher limit",
        f">= {TARGETS['login_vs_hasher']:.0%}",
        login,
        held(login, TARGETS["login_vs_hasher"]),
    )
    p99_s = revocation["p99_ms"] / 1000 if revocation.get("p99_ms") is not None else None
    add(
        "revocation to refusal p99 (SDK, online)",
        f"<= {TARGETS['revocation_p99_s']} s",
        p99_s,
        held(p99_s, TARGETS["revocation_p99_s"], at_most=True),
        "s",
    )
    if report.get("scale"):
        worst = max(abs(r["vs_small"] - 1) for r in report["scale"]["rows"])
        add(
            "1M sessions / 100k users: every row within",
            f"{TARGETS['scale_within']:.0%}",
            round(worst, 3),
            worst <= TARGETS["scale_within"],
        )
    return out


def targets_text(rows: list[dict]) -> str:
    lines = []
    for t in rows:
        mark = {True: "HELD  ", False: "MISSED", None: "n/a   "}[t["held"]]
        value = t["measured"]
        shown = "-" if value is None else (f"{value:,.3f}" if isinstance(value, float) else value)
        lines.append(f"  {mark} {t['target']:<58} goal {t['goal']:<10} measured {shown}")
    return "\n".join(lines)


def run_rows(runs, label: str = "") -> list[dict]:
    rows = []
    for instance, name, request in runs:
        time.sleep(1)
        result = measured(instance, request)
        rows.append({"project": instance, "endpoint": name, **result})
        print(f"  {label}{instance:<10} {name:<19} {result['rps']:>9.1f} req/s", flush=True)
        if result["pool_exhausted"]:
            print(
                f"  ! {result['pool_exhausted']} requests ran past the end of the token "
                "pool and reused tokens (counted as errors): raise BENCH_REFRESH_POOL"
            )
    return rows


def machine() -> dict:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def git_commit() -> str:
    out = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return out.stdout.strip()


def table(rows: list[dict]) -> str:
    head = f"{'project':<10} {'server':<17} {'endpoint':<19} {'req/s':>9} {'p50 ms':>8} "
    head += f"{'p99 ms':>8} {'errors':>7} {'vs ref':>7} {'vs bare':>8}"
    lines = [head, "-" * len(head)]
    for row in rows:
        ratio = f"{row['vs_reference']:.2f}x" if row.get("vs_reference") else "-"
        bare = f"{row['vs_bare']:.2f}" if row.get("vs_bare") else "-"
        lines.append(
            f"{row['project']:<10} {row.get('server', ''):<17} {row['endpoint']:<19} "
            f"{row['rps']:>9.1f} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f} {row['errors']:>7} "
            f"{ratio:>7} {bare:>8}"
        )
    return "\n".join(lines)


def roundtrips_text(rt: dict) -> str:
    head = (
        f"{'endpoint':<19} {'SQL':>6} {'writes':>7} {'commits':>8} {'Redis':>6} {'Redis RTT':>10}"
    )
    lines = [head, "-" * len(head)]
    for name, r in rt.items():
        if not isinstance(r, dict) or "sql_queries" not in r or "requests" not in r:
            continue
        lines.append(
            f"{name:<19} {r['sql_queries']:>6} {r['sql_writes']:>7} {r['commits']:>8} "
            f"{r['redis_commands']:>6} {r['redis_round_trips']:>10}"
        )
    return "\n".join(lines)


def with_ratios(rows: list[dict]) -> list[dict]:
    by = {(r["project"], r["endpoint"]): r for r in rows}
    bare = by.get(("floor", "bare"))
    for row in rows:
        if bare and bare["rps"] and row["project"] == "warden":
            row["vs_bare"] = round(row["rps"] / bare["rps"], 3)
        counterpart = by.get(("reference", PAIRS.get(row["endpoint"], "")))
        if row["project"] == "warden" and counterpart and counterpart["rps"]:
            row["vs_reference"] = round(row["rps"] / counterpart["rps"], 2)
    return rows


def chart(report: dict, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install -r bench/requirements.txt): no chart")
        return
    rows = report["rows"]
    labels = [f"{r['project'][0].upper()}:{r['endpoint']}" for r in rows]
    colors = ["#2454d6" if r["project"] == "warden" else "#9aa4b2" for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, key, label, fmt in (
        (ax1, "rps", "requests/s, log scale (higher is better)", "{:.0f}"),
        (ax2, "p99_ms", "p99 latency in ms, log scale (lower is better)", "{:.1f}"),
    ):
        values = [max(r[key], 0.01) for r in rows]
        bars = ax.barh(labels, values, color=colors)
        ax.bar_label(bars, [fmt.format(v) for v in values], padding=3, fontsize=8)
        ax.set_xscale("log")
        ax.set_xlim(right=max(values) * 4)
        ax.set_xlabel(label)
        ax.invert_yaxis()
    m = report["machine"]
    fig.suptitle(
        f"Warden (W, blue) vs vanilla SimpleJWT (R, grey; F: its bare view under Warden's "
        f"server): {m['nproc']} cores, "
        f"{report['config']['connections']} connections, {report['config']['seconds']}s each"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def split_refresh_pool(parts: int) -> None:
    """One refresh pool per pass (single-use tokens): warden-refresh.txt, then -scale.txt."""
    path = WORK / "warden-refresh.txt"
    tokens = path.read_text().split()
    size = len(tokens) // parts
    path.write_text("\n".join(tokens[:size]) + "\n")
    if parts > 1:
        (WORK / "warden-refresh-scale.txt").write_text("\n".join(tokens[size:]) + "\n")


def scale_pass(warden_seed: dict, ref_seed: dict, small: list[dict]) -> dict:
    """BENCH_SCALE=1: 100,000 users and 1,000,000 sessions more, then Warden's rows again."""
    print("Seeding 100,000 users and 1,000,000 sessions (bench/scale.py)...", flush=True)
    started = time.monotonic()
    out = subprocess.run(
        [PYTHON, "bench/scale.py"],
        cwd=ROOT,
        env=project_env("warden"),
        capture_output=True,
        text=True,
        timeout=900,
    )
    if out.returncode != 0:
        raise SystemExit(f"bench/scale.py failed:\n{out.stderr[-3000:]}")
    seeded = json.loads(out.stdout.strip().splitlines()[-1])
    seeded["seconds"] = round(time.monotonic() - started, 1)
    print(f"  seeded in {seeded['seconds']} s: {seeded}", flush=True)
    (WORK / "warden-refresh.txt").write_text((WORK / "warden-refresh-scale.txt").read_text())
    runs = [r for r in load_runs(warden_seed, ref_seed) if r[0] == "warden"]
    servers = start({"warden": CONFIG["server"]})
    try:
        rows = run_rows(runs, label="scale ")
    finally:
        stop_all(servers)
    before = {r["endpoint"]: r for r in small if r["project"] == "warden"}
    for row in rows:
        row["server"] = CONFIG["server"]
        row["vs_small"] = round(row["rps"] / before[row["endpoint"]]["rps"], 3)
    return {"seeded": seeded, "rows": rows}


def main() -> int:
    if not shutil.which("wrk"):
        print("wrk is not installed: `make system-deps` (Debian package wrk).")
        return 2
    ensure_database(CONFIG["database_url"])
    ensure_database(CONFIG["reference_database_url"])
    check_redis(CONFIG["redis_url"])
    shutil.rmtree(WORK, ignore_errors=True)
    (WORK / "prometheus").mkdir(parents=True)
    RESULTS.mkdir(exist_ok=True)
    passes = 2 if CONFIG["scale"] else 1
    print(f"Seeding (refresh pool {CONFIG['refresh_pool']} tokens per project and pass)...")
    reference_keys()
    pool = CONFIG["refresh_pool"]
    CONFIG["refresh_pool"] = pool * passes
    warden_seed = prepare("warden")
    CONFIG["refresh_pool"] = pool
    ref_seed = prepare("reference")
    split_refresh_pool(passes)
    load_before = os.getloadavg()
    print(f"Load average at start {load_before} ({os.cpu_count()} cores)")
    print("Round trips per request (in process, steady state)...", flush=True)
    rt = roundtrips(warden_seed)
    comparison = []
    if CONFIG["compare"]:
        print(f"Servers compared, {CONFIG['workers']} processes each:", flush=True)
        comparison = compare_servers(warden_seed, ref_seed)
    print(
        f"Warden under {CONFIG['server']}, the reference under {CONFIG['reference_server']}:",
        flush=True,
    )
    plan = {
        "warden": CONFIG["server"],
        "reference": CONFIG["reference_server"],
        "floor": CONFIG["server"],
    }
    servers = start(plan)
    try:
        rows = run_rows(load_runs(warden_seed, ref_seed))
        for row in rows:
            row["server"] = plan[row["project"]]
        revocation = revocation_to_refusal()
        rss = {
            instance: [peak_rss_mb(pid) for pid in workers_of(process)]
            for instance, process in servers.items()
        }
        scraped = scrape_metrics()
    finally:
        stop_all(servers)
    scale = scale_pass(warden_seed, ref_seed, rows) if CONFIG["scale"] else None
    load_after = os.getloadavg()
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": git_commit(),
        "machine": machine(),
        "load_average": {"start": load_before, "end": load_after},
        "config": {k: v for k, v in CONFIG.items() if "url" not in k},
        "server_comparison": comparison,
        "rows": with_ratios(rows),
        "roundtrips": rt,
        "revocation": revocation,
        "peak_rss_mb_per_worker": rss,
        "warden_metrics_after_run": scraped,
        "micro": micro(),
        "scale": scale,
    }
    report["targets"] = targets(report)
    # A partial run (BENCH_ONLY, or no server comparison) never overwrites the full results.
    partial = CONFIG["only"] or not CONFIG["compare"]
    stem = RESULTS / ("results-partial" if partial else "results")
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    chart(report, stem.with_suffix(".png"))
    print()
    if comparison:
        print(f"Servers, {CONFIG['workers']} processes each (bare view and Warden verify):")
        for row in comparison:
            ratio = f"  verify/bare {row['vs_bare']:.2f}" if row.get("vs_bare") else ""
            print(
                f"  {row['server']:<17} {row['endpoint']:<7} {row['rps']:>9.1f} req/s "
                f"p99 {row['p99_ms']:>7.2f} ms{ratio}"
            )
        print()
    print(table(report["rows"]))
    if scale:
        print()
        print(f"With 1,000,000 sessions and 100,000 users more ({scale['seeded']}):")
        for row in scale["rows"]:
            print(f"  {row['endpoint']:<19} {row['rps']:>9.1f} req/s  {row['vs_small']:.2f}x")
    print()
    print("Round trips per request (in process, steady state):")
    print(roundtrips_text(rt))
    print(f"  revoked-set re-read: {rt['revoked_set_resync']}")
    print()
    print(f"Revocation to refusal: {revocation}")
    print(f"Peak RSS per worker (MB): {rss}")
    h = report["micro"]["hasher"]
    print(
        f"Hasher {h['algorithm']} {h['params']}: {h['hash_ms']} ms per hash, limit "
        f"{h['cores']} cores / hash = {h['limit_per_s']}/s"
    )
    print(f"PyJWT RS256 decode: {report['micro']['pyjwt_decode_per_s']}/s")
    print(f"SDK local verify: {report['micro']['sdk']}")
    print(f"Warden's /metrics after the run (all workers): {scraped}")
    print(f"Load average at start {load_before}, at the end {load_after}")
    print()
    print("Targets (issue 17):")
    print(targets_text(report["targets"]))
    print(f"Wrote {stem.with_suffix('.json')} and {stem.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
