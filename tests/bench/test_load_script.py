"""bench/load.lua sends each single-use refresh token at most once, and says when it ran out."""

import json
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

LOAD_SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "load.lua"
POOL_SIZE = 20  # small, so a 1 s run overdraws it and the report path runs too


@pytest.fixture
def recorder():
    """A loopback server that records each request body's refresh_token."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as gunicorn's gthread workers

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(json.loads(body)["refresh_token"])
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


@pytest.mark.wrk
def test_single_use_pool_is_never_resent_unless_reported(recorder, tmp_path):
    url, seen = recorder
    pool = tmp_path / "refresh.txt"
    pool.write_text("".join(f"token-{i}\n" for i in range(POOL_SIZE)))
    env = {
        **os.environ,
        "BENCH_METHOD": "POST",
        "BENCH_PATH": "/refresh",
        "BENCH_POOL": str(pool),
        "BENCH_POOL_ONCE": "1",
        "BENCH_BODY": '{"refresh_token": "{item}"}',
        "BENCH_THREADS": "2",
    }
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", "4", "-d", "1s", "-s", str(LOAD_SCRIPT), url],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    line = next(x for x in out.stdout.splitlines() if x.startswith("BENCH_JSON "))
    result = json.loads(line.removeprefix("BENCH_JSON "))
    assert result["requests"] > 0
    first_pass = seen[: min(len(seen), POOL_SIZE)]
    # Two wrk threads share the pool by stride: no token goes out twice before it is spent...
    assert len(set(first_pass)) == len(first_pass)
    resent = len(seen) - len(set(seen))
    # ...and every resend after that is reported, so the bench can count it as an error.
    assert resent <= result["pool_exhausted"]
    assert len(seen) > POOL_SIZE and result["pool_exhausted"] > 0
