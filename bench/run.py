"""`make bench`: Warden and a vanilla SimpleJWT project, one gunicorn setup, driven by wrk.

Both projects are migrated, wiped and seeded (their databases are the bench's own), served by
gunicorn with the same worker settings on loopback, and each endpoint is loaded for
BENCH_SECONDS. Prints one table and writes bench/results/results.json and results.png.
Settings come from the environment (see CONFIG below); a run is bounded in time and stops
every process it started.
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


CONFIG = {
    "seconds": env_int("BENCH_SECONDS", 10),
    "connections": env_int("BENCH_CONNECTIONS", 64),
    "wrk_threads": env_int("BENCH_WRK_THREADS", 1),
    # Two workers for two cores: one process per core keeps all cores busy with Python work
    # (the GIL serialises each process); more processes only add RSS and context switches.
    # gthread keeps connections alive (sync workers close every connection) and its threads
    # overlap the waits on PostgreSQL, Redis and Argon2 (which releases the GIL).
    "workers": env_int("BENCH_WORKERS", 2),
    "threads": env_int("BENCH_THREADS", 4),
    "worker_class": os.environ.get("BENCH_WORKER_CLASS") or "gthread",
    "port": env_int("BENCH_PORT", 18700),
    "database_url": os.environ.get("BENCH_DATABASE_URL")
    or "postgres://postgres@127.0.0.1:5432/warden_bench",
    "reference_database_url": os.environ.get("BENCH_REFERENCE_DATABASE_URL")
    or "postgres://postgres@127.0.0.1:5432/warden_bench_ref",
    "redis_url": os.environ.get("BENCH_REDIS_URL") or "redis://127.0.0.1:6379/7",
    "only": [s for s in (os.environ.get("BENCH_ONLY") or "").split(",") if s],
}
CONFIG["refresh_pool"] = env_int("BENCH_REFRESH_POOL", 800 * CONFIG["seconds"])

# (project, name, request) in the order they run: Warden's and the reference's counterparts
# alternate so that drift in a shared machine's load hits both sides alike.
PAIRS = {"verify": "verify", "refresh": "refresh", "login": "obtain"}


def load_runs(warden_seed: dict, ref_seed: dict) -> list[tuple[str, str, dict]]:
    basic = base64.b64encode(
        f"{warden_seed['client_id']}:{warden_seed['client_secret']}".encode()
    ).decode()
    w, r = WORK / "warden", WORK / "reference"
    runs = [
        ("reference", "bare", {"BENCH_PATH": "/bare/"}),
        (
            "warden",
            "verify",
            {
                "BENCH_PATH": "/api/auth/verify",
                "BENCH_POOL": f"{w}-access.txt",
                "BENCH_AUTH": "Bearer {item}",
            },
        ),
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
        (
            "warden",
            "me",
            {
                "BENCH_PATH": "/api/auth/me",
                "BENCH_POOL": f"{w}-access.txt",
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


def port_of(project: str) -> int:
    return CONFIG["port"] + (0 if project == "warden" else 1)


def serve(project: str) -> subprocess.Popen:
    app = "config.wsgi:application" if project == "warden" else "bench.reference.wsgi:application"
    log = open(WORK / f"{project}-gunicorn.log", "w")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(
        [
            PYTHON,
            "-m",
            "gunicorn",
            app,
            "--bind",
            f"127.0.0.1:{port_of(project)}",
            "--workers",
            str(CONFIG["workers"]),
            "--threads",
            str(CONFIG["threads"]),
            "--worker-class",
            CONFIG["worker_class"],
            "--backlog",
            "2048",
            "--timeout",
            "60",
        ],
        cwd=ROOT,
        env=project_env(project),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


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


def workers_of(process: subprocess.Popen) -> list[int]:
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


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


def wrk(project: str, request: dict) -> dict:
    env = {**os.environ, "BENCH_THREADS": str(CONFIG["wrk_threads"]), **request}
    command = [
        "wrk",
        "-t",
        str(CONFIG["wrk_threads"]),
        "-c",
        str(CONFIG["connections"]),
        "-d",
        f"{CONFIG['seconds']}s",
        "--timeout",
        "10s",
        "-s",
        str(BENCH / "load.lua"),
        f"http://127.0.0.1:{port_of(project)}",
    ]
    out = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=CONFIG["seconds"] + 60
    )
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
    head = f"{'project':<10} {'endpoint':<19} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
    head += f"{'errors':>7} {'vs ref':>7} {'vs bare':>8}"
    lines = [head, "-" * len(head)]
    for row in rows:
        ratio = f"{row['vs_reference']:.2f}x" if row.get("vs_reference") else "-"
        bare = f"{row['vs_bare']:.2f}" if row.get("vs_bare") else "-"
        lines.append(
            f"{row['project']:<10} {row['endpoint']:<19} {row['rps']:>9.1f} {row['p50_ms']:>8.2f} "
            f"{row['p99_ms']:>8.2f} {row['errors']:>7} {ratio:>7} {bare:>8}"
        )
    return "\n".join(lines)


def with_ratios(rows: list[dict]) -> list[dict]:
    by = {(r["project"], r["endpoint"]): r for r in rows}
    bare = by.get(("reference", "bare"))
    for row in rows:
        if bare and bare["rps"]:
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
        f"Warden (W, blue) vs vanilla SimpleJWT (R, grey): {m['nproc']} cores, "
        f"{report['config']['connections']} connections, {report['config']['seconds']}s each"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


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
    print(f"Seeding (refresh pool {CONFIG['refresh_pool']} tokens per project)...")
    reference_keys()
    warden_seed, ref_seed = prepare("warden"), prepare("reference")
    load_before = os.getloadavg()
    servers = {"warden": serve("warden"), "reference": serve("reference")}
    rows = []
    try:
        wait_ready("warden", "/healthz")
        wait_ready("reference", "/bare/")
        for project, name, request in load_runs(warden_seed, ref_seed):
            time.sleep(1)
            result = wrk(project, request)
            rows.append({"project": project, "endpoint": name, **result})
            print(f"  {project:<10} {name:<19} {result['rps']:>9.1f} req/s", flush=True)
            if result["pool_exhausted"]:
                print(
                    f"  ! {result['pool_exhausted']} requests ran past the end of the token "
                    "pool and reused tokens (counted as errors): raise BENCH_REFRESH_POOL"
                )
        rss = {
            project: [peak_rss_mb(pid) for pid in workers_of(process)]
            for project, process in servers.items()
        }
        scraped = scrape_metrics()
    finally:
        for process in servers.values():
            stop(process)
    load_after = os.getloadavg()
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": git_commit(),
        "machine": machine(),
        "load_average": {"before": load_before, "after": load_after},
        "config": {k: v for k, v in CONFIG.items() if "url" not in k},
        "rows": with_ratios(rows),
        "peak_rss_mb_per_worker": rss,
        "warden_metrics_after_run": scraped,
        "micro": micro(),
    }
    # A partial run (BENCH_ONLY) never overwrites the full results.
    stem = RESULTS / ("results-partial" if CONFIG["only"] else "results")
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    chart(report, stem.with_suffix(".png"))
    print()
    print(table(report["rows"]))
    print()
    print(f"Peak RSS per worker (MB): {rss}")
    h = report["micro"]["hasher"]
    print(
        f"Hasher {h['algorithm']} {h['params']}: {h['hash_ms']} ms per hash, limit "
        f"{h['cores']} cores / hash = {h['limit_per_s']}/s"
    )
    print(f"PyJWT RS256 decode: {report['micro']['pyjwt_decode_per_s']}/s")
    print(f"SDK local verify: {report['micro']['sdk']}")
    print(f"Warden's /metrics after the run (all workers): {scraped}")
    print(f"Load average before {load_before}, after {load_after}")
    print(f"Wrote {stem.with_suffix('.json')} and {stem.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
