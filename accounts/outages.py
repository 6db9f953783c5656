"""Which exceptions mean "a backend is away": the database (PostgreSQL) or the cache (Redis).

The web layer answers them with 503 (api.unavailable); the account adapter gives back the
failed-login slot a sign-in spent when its password check could not even run.
"""

from __future__ import annotations

import redis.exceptions
from django.db import utils as db_utils

DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    db_utils.OperationalError,
    db_utils.InterfaceError,
)
try:  # raised unwrapped where psycopg is used outside Django's cursor wrappers
    import psycopg

    DATABASE_ERRORS += (psycopg.OperationalError, psycopg.InterfaceError)
except ImportError:  # SQLite-only installs
    pass
CACHE_ERRORS: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
BACKEND_ERRORS = DATABASE_ERRORS + CACHE_ERRORS


def backend_of(exc: BaseException | None) -> str | None:
    """ "database" or "cache" if exc (or what caused it) says that backend is away, else None."""
    for _ in range(5):  # the exception and a few links of its cause/context chain
        if exc is None:
            return None
        if isinstance(exc, DATABASE_ERRORS):
            return "database"
        if isinstance(exc, CACHE_ERRORS):
            return "cache"
        exc = exc.__cause__ or exc.__context__
    return None
