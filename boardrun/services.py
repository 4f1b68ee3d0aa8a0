"""The services of this process, each built once from its settings, and the one reset.

A `Services` registry holds what used to be module-global singletons: the database
engine and its sessions, the health probe's connection, storage, the event publisher,
the job backend, the key material (the access-token signing keys, the job-token secret)
and the caches (OAuth metadata, the hub file, whether migrations are applied). Each is
built on first use from the registry's settings; the modules that own the code keep the
factories (`db.make_engine`, `storage.storage_from_url`, ...), this module only wires
them. As in pypi/warehouse, services are looked up from one place built from the
settings; as dramatiq swaps its one global broker, `reset()` swaps the one registry:
the embedded server installs its settings with it, and tests that change the
environment call it (closing what the old registry opened).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from boardrun.config import ConfigError, Settings, get_settings, use_settings

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from boardrun.eventing.publisher import Publisher
    from boardrun.jobs.backends.base import JobBackend
    from boardrun.storage.base import Storage


class Cache:
    """A dictionary for one cache of the registry, with the lock its users take."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: dict[Any, Any] = {}


class Services:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._lock = threading.RLock()
        self._built: dict[str, Any] = {}
        self._caches: dict[str, Cache] = {}

    def _get(self, name: str, build: Callable[[], Any]) -> Any:
        # Double-checked: the common path takes no lock.
        try:
            return self._built[name]
        except KeyError:
            pass
        with self._lock:
            if name not in self._built:
                self._built[name] = build()
            return self._built[name]

    # -- database ------------------------------------------------------------------
    def database_url(self) -> str:
        url = self.settings.database.url
        if not url:
            raise ConfigError("DATABASE_URL is required when BOARDRUN_ENV=production")
        return url

    @property
    def engine(self) -> Engine:
        from boardrun import db

        return self._get("engine", lambda: db.make_engine(self.database_url()))

    @property
    def sessions(self) -> sessionmaker[Session]:
        from sqlalchemy.orm import sessionmaker

        return self._get("sessions", lambda: sessionmaker(self.engine, expire_on_commit=False))

    @property
    def read_sessions(self) -> sessionmaker[Session]:
        """Sessions of `db.read_scope`: the same pool, marked read-only; autoflush off, so
        a read scope never writes, not even by accident."""
        from sqlalchemy.orm import sessionmaker

        from boardrun import db

        return self._get("read_sessions", lambda: sessionmaker(
            self.engine.execution_options(**{db.READ_ONLY: True}), autoflush=False))

    @property
    def db_probe(self) -> Any:
        """The health probe's driver connection (see `boardrun.dbprobe`)."""
        from boardrun import dbprobe

        return self._get("db_probe", lambda: dbprobe.Probe(self.database_url()))

    # -- storage and events ----------------------------------------------------------
    @property
    def storage(self) -> Storage:
        from boardrun.storage import storage_from_url

        def build() -> Storage:
            if not self.settings.storage.url:
                raise ConfigError("STORAGE_URL is required when BOARDRUN_ENV=production")
            return storage_from_url(self.settings.storage.url, endpoint_url=self.settings.storage.s3_endpoint_url)

        return self._get("storage", build)

    @property
    def publisher(self) -> Publisher:
        """The publisher to K_SINK; PublishError if no sink is configured."""
        from boardrun.eventing.publisher import PublishError, make_publisher

        sink = self.settings.eventing.sink
        if not sink:
            raise PublishError("K_SINK is not set: no broker to publish to")
        return self._get("publisher", lambda: make_publisher(sink))

    def forget(self, name: str) -> None:
        """Close and drop one built service, so its next use builds it afresh."""
        with self._lock:
            built = self._built.pop(name, None)
        if built is not None and hasattr(built, "close"):
            built.close()

    # -- jobs ----------------------------------------------------------------------
    @property
    def backend(self) -> JobBackend:
        from boardrun.jobs.backends import create_backend

        return self._get("backend", lambda: create_backend(self.settings))

    def set_backend(self, backend: JobBackend | None) -> None:
        """Install a backend (the embedded server, tests); None forgets the current one,
        closing it."""
        with self._lock:
            current = self._built.pop("backend", None)
            if current is not None and current is not backend:
                current.close()
            if backend is not None:
                self._built["backend"] = backend

    # -- key material --------------------------------------------------------------
    @property
    def signing_keys(self) -> tuple[Ed25519PrivateKey, Ed25519PublicKey]:
        from boardrun.accounts.tokens import load_keys

        return self._get("signing_keys", lambda: load_keys(self))

    @property
    def job_token_secret(self) -> bytes:
        from boardrun.jobs.signing import load_secret

        return self._get("job_token_secret", lambda: load_secret(self))

    def embedded_secret(self, name: str, make: Callable[[], bytes]) -> bytes:
        """A secret generated for embedded mode and kept in DATA_DIR/<name> (0600): created
        once, the first writer winning if several processes start at once. Production
        never generates secrets: callers check `settings.production` first."""
        from boardrun.private_files import private_dir

        path = Path(self.settings.data_dir) / name
        if not path.exists():
            private_dir(path.parent)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(make())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return path.read_bytes()

    # -- caches --------------------------------------------------------------------
    def cache(self, name: str) -> Cache:
        with self._lock:
            return self._caches.setdefault(name, Cache())

    def close(self) -> None:
        """Release what this registry opened (connections, the backend's runners)."""
        with self._lock:
            built, self._built = self._built, {}
            self._caches.clear()
        backend = built.get("backend")
        if backend is not None:
            backend.close()
        for name in ("publisher", "db_probe"):
            if name in built:
                built[name].close()
        if "engine" in built:
            built["engine"].dispose()


_lock = threading.Lock()
_current: Services | None = None


def current() -> Services:
    """This process's registry, built from its settings on first use."""
    global _current
    if _current is None:
        settings = get_settings()  # outside the lock: it takes its own
        with _lock:
            if _current is None:
                _current = Services(settings)
    return _current


def reset(settings: Settings | None = None) -> None:
    """Close every service of the current registry and start a new one from `settings`
    (None: the environment as it is now). The one reset: the embedded server installs
    its settings with it, and tests call it after changing the environment."""
    global _current
    with _lock:
        old, _current = _current, None
    if old is not None:
        old.close()
    use_settings(settings)


__all__ = ["Cache", "Services", "current", "reset"]
