"""Gunicorn settings for Warden: `gunicorn -c deploy/gunicorn.conf.py config.wsgi:application`.

Sized for 2 cores by default; every value can be overridden from the environment.
"""

import os

# Behind the proxy on the same host (or a private network): never bind a public address.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Verify spends its time in signature checks (CPU) and Redis round trips (I/O): one process
# per core plus one, each with a few threads to overlap the waiting.
workers = int(os.environ.get("WEB_CONCURRENCY", (os.cpu_count() or 2) + 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", 4))

# Import Django once in the master: faster forks and shared memory. Connections are opened
# lazily per worker, so nothing socket-like is inherited.
preload_app = True

timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 20
keepalive = 5  # the proxy keeps upstream connections open
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 10000))
max_requests_jitter = max_requests // 10
# Heartbeat files on tmpfs, as gunicorn advises, so a slow disk never looks like a hung worker.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108

# Only the proxy may tell us the client address and scheme.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Access log: path without the query string (%(U)s, never %(r)s or %(q)s) and no headers, so
# a token passed in a URL or a header never reaches a log file.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms "%(a)s"'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
proc_name = "warden"

# --- Memory and metrics (README: Performance, Metrics) ---------------------------------------

# Each Argon2 hash borrows a 19 MiB buffer. After the first is freed glibc raises its mmap
# threshold and serves later ones from per-thread arenas that keep the memory (~19 MiB per
# thread per worker). A fixed threshold, set here in the master before it forks, returns each
# buffer when the hash ends (the same as MALLOC_MMAP_THRESHOLD_=1048576 in the environment).
try:
    import ctypes

    ctypes.CDLL("libc.so.6").mallopt(-3, 1024 * 1024)  # -3: M_MMAP_THRESHOLD
except (OSError, AttributeError):  # not glibc: nothing to tune
    pass


def on_starting(server):
    """Start prometheus-client's multiprocess directory empty: old workers' files would count."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        import shutil

        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory, exist_ok=True)
