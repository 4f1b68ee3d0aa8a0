"""Database access: one SQLAlchemy engine per process, sessions per unit of work,
and Alembic migrations. The same code runs on SQLite (embedded) and PostgreSQL."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager, nullcontext
from functools import lru_cache
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from sqlalchemy import DateTime, Engine, create_engine, event, text
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

from boardrun import services
from boardrun.private_files import private_file

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both backends (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime}


def _ensure_sqlite_dir(url: str) -> None:
    """The database's folder and file, private to the server's user (SQLite gives its
    -wal and -shm files the database file's permissions)."""
    path = url.split("///", 1)[1].split("?", 1)[0] if url.startswith("sqlite:///") else ""
    if path and path != ":memory:" and not path.startswith("file:"):
        private_file(Path(path))


def make_engine(url: str) -> Engine:
    """The engine for `url` (the services registry keeps the process's one)."""
    if url.startswith("sqlite"):
        _ensure_sqlite_dir(url)
        # Readers do not queue on the writer lock, so as many connections as threads may be
        # in use at once (gunicorn's threads, the broker's workers, the runner watchers).
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=16, max_overflow=32, pool_timeout=30)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: no fsync per commit (only at checkpoints). The database
            # cannot be corrupted; a power cut may lose the last commits. The
            # embedded mode's trade; a cluster runs on PostgreSQL.
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            if conn.get_execution_options().get(READ_ONLY):
                conn.exec_driver_sql("BEGIN")  # a WAL snapshot: readers never wait for the writer
                return
            # Take the write lock at BEGIN so concurrent writers queue on busy_timeout
            # instead of failing with "database is locked" when they upgrade a read lock.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        # pysqlite's own transaction handling must be off for the BEGIN above to work.
        @event.listens_for(engine, "connect", insert=True)
        def _sqlite_autocommit(dbapi_conn, _record):
            dbapi_conn.isolation_level = None

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, pool_timeout=10)


# The execution option that marks a read_scope's connection (SQLite: a deferred BEGIN).
READ_ONLY = "boardrun_read_only"


def database_url() -> str:
    return services.current().database_url()


def get_engine() -> Engine:
    return services.current().engine


# SQLite has one writer at a time, and every transaction here takes the write lock at
# BEGIN. Threads waiting in SQLite's busy handler sleep in steps of up to 100 ms, which
# gave sub-millisecond transactions second-long tails under load; waiting on a lock in
# the process wakes the next one as soon as the lock is free. (Embedded mode has one
# process using the database; PostgreSQL needs none of this.)
_sqlite_writer = threading.RLock()


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error."""
    engine = get_engine()
    with _sqlite_writer if engine.dialect.name == "sqlite" else nullcontext():
        session = services.current().sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


def insert_new(session: Session, model: type, rows: list[dict]) -> int:
    """INSERT the rows whose primary key is not taken yet (ON CONFLICT DO NOTHING, on both
    backends) on the session's connection (Core: no unit of work); how many were new."""
    if not rows:
        return 0
    conn = session.connection()
    return len(conn.execute(_insert_ignoring_duplicates(model.__table__, conn.dialect.name), rows).all())


@lru_cache(maxsize=None)
def _insert_ignoring_duplicates(table, dialect: str):
    """One statement per table and backend, built once (it names no values: they are the rows).
    RETURNING counts what was new, also when the rows go as one executemany."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert
    return insert(table).on_conflict_do_nothing().returning(*table.primary_key.columns)


def insert_object(session: Session, obj: Base) -> None:
    """INSERT a new object through Core on the session's connection (half the CPU of a
    unit-of-work flush, for the hot paths: a submit's job and outbox rows); its generated
    primary key is set on it. The object stays outside the session and sees no column
    default: the caller sets every value it reads back."""
    table = obj.__table__
    values = {column.key: obj.__dict__[column.key] for column in table.columns if column.key in obj.__dict__}
    key = session.connection().execute(_insert_returning_key(table), values).one()
    for column, value in zip(table.primary_key.columns, key):
        setattr(obj, column.key, value)


@lru_cache(maxsize=None)
def _insert_returning_key(table):
    return table.insert().returning(*table.primary_key.columns)


@contextmanager
def read_scope() -> Iterator[Session]:
    """A session for reading only: it never takes the SQLite writer lock (in WAL mode a
    reader sees the last commit and waits for no writer), and is never committed. The
    objects it loaded stay readable after it closes. Adding, changing or deleting
    anything in it is a bug: it raises instead of silently dropping the change."""
    session = services.current().read_sessions()
    try:
        yield session
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("a read_scope session was given a write; use session_scope")
    finally:
        session.close()  # ends the transaction (rolled back) without expiring what was loaded


def ping() -> float:
    """Round-trip time of a trivial query, in milliseconds."""
    started = time.perf_counter()
    with get_engine().connect() as conn:
        conn.execute(text("SELECT 1"))
    return (time.perf_counter() - started) * 1000


def _alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str | None = None) -> None:
    """Apply every pending migration (alembic upgrade head)."""
    from alembic import command

    url = url or database_url()
    _ensure_sqlite_dir(url)
    command.upgrade(_alembic_config(url), "head")


def is_migrated() -> bool:
    """True when the database is at the newest migration (the startup probe)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(_alembic_config(database_url())).get_heads())
    with get_engine().connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return current == heads
