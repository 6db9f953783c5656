"""Round trips per request for `make bench`: SQL queries, commits and Redis commands.

Each endpoint is called N times in process through Django's test client, on the bench's own
PostgreSQL database and Redis db (seeded by bench/seed.py), after a warm-up that lets the
process subscribe to its revocation channel and load its revoked set (the steady state).
Counted on the calling thread only, so the revocation listener's heartbeat is not counted:

- SQL queries: CaptureQueriesContext (writes are INSERT/UPDATE/DELETE among them);
- commits: calls of the connection's commit() (one per outermost transaction.atomic());
  statements outside a transaction are autocommitted by PostgreSQL and appear only as queries;
- Redis commands and round trips: redis-py's send_command/pack_commands (a pipeline is one
  round trip carrying several commands) and send_packed_command.

Usage: python bench/roundtrips.py WORK_DIR CLIENT_ID CLIENT_SECRET PASSWORD; prints one JSON
object. Run with the Warden environment bench/run.py builds.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import threading
import time
from pathlib import Path

import django

N = {"verify": 200, "me": 100, "client_credentials": 50, "refresh": 50, "login": 10}
WRITES = ("INSERT", "UPDATE", "DELETE")
# Django (4.2+) logs transaction control among the queries: counted as commits, not queries.
CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


def writes(statement: str) -> int:
    """Rows-changing statements in one: a data-modifying CTE (WITH ... UPDATE ... INSERT) counts
    each of its writes."""
    if statement.startswith(WRITES):
        return 1
    if statement.startswith("WITH"):
        return sum(f" {verb} " in f" {statement.replace('(', ' ')} " for verb in WRITES)
    return 0


class Counter:
    def __init__(self) -> None:
        self.thread = threading.get_ident()
        self.reset()

    def reset(self) -> None:
        self.commits = self.redis_commands = self.redis_round_trips = 0

    def mine(self) -> bool:
        return threading.get_ident() == self.thread


def install(counter: Counter) -> None:
    """Wrap the commit and redis-py's send path; counts only on the thread that installed it."""
    from django.db.backends.base.base import BaseDatabaseWrapper
    from redis import connection as redis_connection

    commit = BaseDatabaseWrapper.commit

    def counted_commit(self):
        if counter.mine():
            counter.commits += 1
        return commit(self)

    BaseDatabaseWrapper.commit = counted_commit
    cls = redis_connection.AbstractConnection
    send_command, pack_commands = cls.send_command, cls.pack_commands
    send_packed = cls.send_packed_command

    def counted_command(self, *args, **kwargs):
        if counter.mine():
            counter.redis_commands += 1
        return send_command(self, *args, **kwargs)

    def counted_pack_many(self, commands):
        commands = list(commands)  # a pipeline: each command packed by the packer directly
        if counter.mine():
            counter.redis_commands += len(commands)
        return pack_commands(self, commands)

    def counted_send(self, command, check_health=True):
        if counter.mine():
            counter.redis_round_trips += 1
        return send_packed(self, command, check_health)

    cls.send_command, cls.pack_commands = counted_command, counted_pack_many
    cls.send_packed_command = counted_send


def steady_state() -> bool:
    """Wait (5 s at most) until this process is subscribed and its revoked set is current."""
    from accounts.tokens import revocation

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if revocation._in_process() and revocation.revoked.current():
            return True
        time.sleep(0.05)
    return False


def requests(work: Path, client_id: str, client_secret: str, password: str) -> dict:
    access = (work / "warden-access.txt").read_text().split()
    refresh = iter((work / "warden-refresh-roundtrips.txt").read_text().split())
    emails = (work / "warden-emails.txt").read_text().split()
    basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
    return {
        "verify": lambda c, i: c.get(
            "/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {access[i % len(access)]}"
        ),
        "me": lambda c, i: c.get(
            "/api/auth/me", HTTP_AUTHORIZATION=f"Bearer {access[i % len(access)]}"
        ),
        "client_credentials": lambda c, i: c.post(
            "/api/auth/token",
            "grant_type=client_credentials",
            content_type="application/x-www-form-urlencoded",
            HTTP_AUTHORIZATION=f"Basic {basic}",
        ),
        "refresh": lambda c, i: c.post(
            "/api/auth/refresh", {"refresh_token": next(refresh)}, content_type="application/json"
        ),
        "login": lambda c, i: c.post(
            "/api/auth/login",
            {"email": emails[i % len(emails)], "password": password},
            content_type="application/json",
        ),
    }


def measure(work: Path, client_id: str, client_secret: str, password: str) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    counter = Counter()
    install(counter)
    client = Client(HTTP_HOST="127.0.0.1")
    calls = requests(work, client_id, client_secret, password)
    for i in range(20):  # warm-up: connections, the signing key, the revocation channel
        calls["verify"](client, i)
    steady = steady_state()
    for i in range(5):
        calls["verify"](client, i)
    out: dict = {"steady_state": steady}
    for name, n in N.items():
        counter.reset()
        statuses, first = set(), 0
        with CaptureQueriesContext(connection) as queries:
            for i in range(n):
                statuses.add(calls[name](client, i).status_code)
                first = first or len(queries.captured_queries)
        every = [q["sql"].lstrip().upper() for q in queries.captured_queries]
        sql = [q for q in every if not q.startswith(CONTROL)]
        first = len([q for q in every[:first] if not q.startswith(CONTROL)])
        out[name] = {
            "requests": n,
            "statuses": sorted(statuses),
            "sql_queries": round(len(sql) / n, 2),
            "sql_writes": round(sum(writes(s) for s in sql) / n, 2),
            "commits": round(counter.commits / n, 2),
            "redis_commands": round(counter.redis_commands / n, 2),
            "redis_round_trips": round(counter.redis_round_trips / n, 2),
            # One request's statements, shortened, so the README can explain each one.
            "sql_first_request": [q[:100] for q in sql[:first]],
        }
    # What the steady state costs apart from requests: the periodic re-read of the revoked set.
    from accounts.tokens import revocation

    with CaptureQueriesContext(connection) as queries:
        revocation._snapshot()
    if PROFILE:
        profile(client, calls)
    out["revoked_set_resync"] = {
        "sql_queries": len(queries.captured_queries),
        "every_seconds_per_process": django.conf.settings.WARDEN_REVOCATION_RESYNC_SECONDS,
    }
    return out


PROFILE = [s for s in os.environ.get("BENCH_PROFILE", "").split(",") if s]


def profile(client, calls) -> None:
    """BENCH_PROFILE=me,refresh: cProfile of 200 requests each (40 for refresh and login), top
    functions to stderr (bench/run.py keeps it in bench/.work/roundtrips.log)."""
    import cProfile
    import pstats

    for name in PROFILE:
        profiler = cProfile.Profile()
        profiler.enable()
        for i in range(200 if name not in ("refresh", "login") else 40):
            calls[name](client, 1000 + i)
        profiler.disable()
        print(f"--- {name}", file=sys.stderr)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(45)


if __name__ == "__main__":
    django.setup()
    work_dir, cid, secret, pw = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    print(json.dumps(measure(work_dir, cid, secret, pw)))
