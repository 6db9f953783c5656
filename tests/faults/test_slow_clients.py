"""50 clients sending their request headers a byte a second (slowloris) while a load balancer
probes /healthz: through the nginx gateway (deploy/nginx's snippets) the probe answers within
a second throughout; gunicorn alone is measured and the figure printed (README, deploy/README).

nginx reads headers in its event loop and passes a request upstream only once it is complete,
so slow clients cost it a connection each and Warden nothing. gunicorn's gthread worker gives
each connection a thread from its first byte until the request is parsed, with no header
timeout: WEB_CONCURRENCY x GUNICORN_THREADS slow clients take every thread.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time

import pytest
import requests

from tests.e2e import harness as e2e
from tests.faults import harness

pytestmark = [pytest.mark.faults, pytest.mark.nginx]

SLOW_CLIENTS = 50
SECONDS = 8
PROBE_EVERY = 0.25
PROBE_BUDGET = 1.0  # seconds a /healthz answer may take


class Slowloris(threading.Thread):
    """SLOW_CLIENTS connections, each sending one more header byte every second."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.sockets: list[socket.socket] = []
        self.done = threading.Event()
        self.opened = threading.Event()
        self.closed_by_server = 0

    def run(self) -> None:
        request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
        for _ in range(SLOW_CLIENTS):
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=2)
            sock.sendall(request)
            self.sockets.append(sock)
        self.opened.set()
        deadline = time.monotonic() + SECONDS + 10
        while not self.done.wait(1) and time.monotonic() < deadline:
            for sock in list(self.sockets):
                try:
                    sock.sendall(b"a")
                except OSError:
                    self.closed_by_server += 1
                    self.sockets.remove(sock)

    def stop(self) -> None:
        self.done.set()
        self.join(5)
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()


def probe(url: str, seconds: float) -> list[float | None]:
    """/healthz every PROBE_EVERY s: each answer's seconds, None for no 200 within 2 s."""
    timings: list[float | None] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        began = time.monotonic()
        try:
            ok = requests.get(url + "/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            ok = False
        timings.append(time.monotonic() - began if ok else None)
        time.sleep(PROBE_EVERY)
    return timings


def under_slow_clients(port: int, url: str) -> tuple[list[float | None], int]:
    slow = Slowloris(port)
    slow.start()
    try:
        assert slow.opened.wait(20), "could not open the slow connections"
        timings = probe(url, SECONDS)
    finally:
        slow.stop()
    return timings, slow.closed_by_server


def summary(title: str, timings: list[float | None], closed: int) -> str:
    answered = [t for t in timings if t is not None]
    worst = f"{max(answered) * 1000:.0f} ms" if answered else "-"
    return (
        f"{title}: {SLOW_CLIENTS} slow clients for {SECONDS} s: /healthz probes "
        f"{len(answered)}/{len(timings)} answered, worst {worst}, "
        f"{sum(t is None or t > PROBE_BUDGET for t in timings)} over {PROBE_BUDGET:.0f} s; "
        f"slow connections closed by the server: {closed}"
    )


def test_slow_clients_through_the_nginx_gateway(stack, tmp_path):
    warden_port = int(stack.url.rsplit(":", 1)[1])
    gateway_port = e2e.free_port()
    nginx = harness.start_gateway(tmp_path, warden_port=warden_port, gateway_port=gateway_port)
    try:
        url = f"http://127.0.0.1:{gateway_port}"
        timings, closed = under_slow_clients(gateway_port, url)
    finally:
        nginx.stop()
    print("\n" + summary("through nginx", timings, closed))
    assert timings and all(t is not None and t < PROBE_BUDGET for t in timings), timings


def test_slow_clients_directly_against_gunicorn(stack):
    """Measured, not required: gunicorn alone is documented as not surviving this."""
    port = int(stack.url.rsplit(":", 1)[1])
    timings, closed = under_slow_clients(port, stack.url)
    print("\n" + summary("gunicorn alone", timings, closed))
    # Once the slow clients are gone, every thread is free again at once.
    stack.wait_ready(timeout=5)
    assert all(t is not None and t < PROBE_BUDGET for t in probe(stack.url, 1.5))


def _granian_args(port: int) -> list[str]:
    """The shipped deploy/granian.env, as `granian` options, on a free port."""
    options = {}
    for line in (e2e.REPO / "deploy" / "granian.env").read_text().splitlines():
        name, _, value = line.partition("=")
        if name.startswith("GRANIAN_"):
            options[name] = value
    options.update(GRANIAN_PORT=str(port), GRANIAN_LOG_ACCESS_ENABLED="false")
    return [sys.executable, "-m", "granian", "config.wsgi:application"], options


def test_slow_clients_directly_against_granian_the_default_server(stack, tmp_path):
    """granian (deploy/granian.env) reads headers in its Rust event loop: slow clients hold no
    Python thread, so the probe keeps answering within a second with no proxy in front."""
    port = e2e.free_port()
    args, options = _granian_args(port)
    env = {**stack.env, **options}
    granian = e2e.Process("granian", args, env=env, log_dir=tmp_path)
    try:
        e2e.wait_until_up(f"http://127.0.0.1:{port}/healthz", granian)
        url = f"http://127.0.0.1:{port}"
        timings, closed = under_slow_clients(port, url)
    finally:
        granian.stop()
    print("\n" + summary("granian alone", timings, closed))
    assert timings and all(t is not None and t < PROBE_BUDGET for t in timings), timings
