"""A database round trip without SQLAlchemy, for the health probes.

The health function is probed right after a scale-from-zero start; importing the ORM
would double its cold start, so it speaks to the driver directly (sqlite3 or
psycopg), over one connection kept for the process and re-opened after a failure.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from boardrun import services
from boardrun.config import ConfigError


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


class Probe:
    """One driver connection to the database at `url`, opened on first use and again
    after a failure (the services registry keeps the process's one)."""

    def __init__(self, url: str):
        self.url = url
        self._lock = threading.Lock()
        self._conn: Any = None

    def ping(self) -> float:
        """Milliseconds for `SELECT 1`; raises when the database cannot be reached."""
        with self._lock:
            started = time.perf_counter()
            try:
                if self._conn is None:
                    self._conn = _connect(self.url)
                self._conn.execute("SELECT 1").fetchone()
            except Exception:
                self._close()
                raise
            return (time.perf_counter() - started) * 1000

    def _close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
        self._conn = None

    def close(self) -> None:
        with self._lock:
            self._close()


def ping() -> float:
    return services.current().db_probe.ping()
