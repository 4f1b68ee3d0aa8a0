"""A database round trip without SQLAlchemy, for the health probes.

The health function is probed right after a scale-from-zero start; importing the ORM
would double its cold start, so it speaks to the driver directly (sqlite3 or
psycopg), over one connection kept for the process and re-opened after a failure.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from boardrun.config import ConfigError, get_settings

_lock = threading.Lock()
_conn: Any = None
_conn_url: str | None = None


def _connect(url: str) -> Any:
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigError(f"DATABASE_URL is not a URL: {url!r}")
    if scheme.startswith("sqlite"):
        import sqlite3

        path = url.split("///", 1)[-1] or ":memory:"
        return sqlite3.connect(path, timeout=5, check_same_thread=False)
    if scheme.startswith("postgresql"):
        import psycopg

        # SQLAlchemy's "postgresql+psycopg://" is libpq's "postgresql://" plus a driver name.
        return psycopg.connect(f"postgresql://{rest}", connect_timeout=5, autocommit=True)
    raise ConfigError(f"no health probe for database scheme {scheme!r}")


def ping() -> float:
    """Milliseconds for `SELECT 1`; raises when the database cannot be reached."""
    global _conn, _conn_url
    url = get_settings().database_url
    if not url:
        raise ConfigError("DATABASE_URL is required when BOARDRUN_ENV=production")
    with _lock:
        started = time.perf_counter()
        try:
            if _conn is None or _conn_url != url:
                reset()
                _conn, _conn_url = _connect(url), url
            _conn.execute("SELECT 1").fetchone()
        except Exception:
            reset()
            raise
        return (time.perf_counter() - started) * 1000


def reset() -> None:
    global _conn, _conn_url
    if _conn is not None:
        try:
            _conn.close()
        except Exception:
            pass
    _conn = _conn_url = None
