"""The job backend of this process, chosen by JOB_BACKEND (local | kubernetes)."""

from __future__ import annotations

import os
import threading

from boardrun.jobs.backends.base import JobBackend

_lock = threading.Lock()
_backend: JobBackend | None = None


def get_backend() -> JobBackend:
    global _backend
    if _backend is None:
        with _lock:
            if _backend is None:
                _backend = _create(os.environ.get("JOB_BACKEND", "local"))
    return _backend


def _create(name: str) -> JobBackend:
    if name == "local":
        from boardrun.jobs.backends.local import LocalBackend

        return LocalBackend.from_env()
    if name == "kubernetes":
        from boardrun.jobs.backends.kubernetes import KubernetesBackend

        return KubernetesBackend.from_env()
    raise ValueError(f"JOB_BACKEND must be 'local' or 'kubernetes', got {name!r}")


def set_backend(backend: JobBackend | None) -> None:
    """Install a backend (the embedded server, tests); None forgets the current one."""
    global _backend
    with _lock:
        if _backend is not None and _backend is not backend:
            _backend.close()
        _backend = backend
