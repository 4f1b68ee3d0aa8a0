"""The job backend of this process, chosen by JOB_BACKEND (local | kubernetes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from boardrun import services
from boardrun.jobs.backends.base import JobBackend

if TYPE_CHECKING:
    from boardrun.config import Settings


def get_backend() -> JobBackend:
    return services.current().backend


def create_backend(settings: Settings) -> JobBackend:
    """The backend JOB_BACKEND names (the services registry keeps the process's one)."""
    if settings.jobs.backend == "kubernetes":
        from boardrun.jobs.backends.kubernetes import KubernetesBackend

        return KubernetesBackend.from_settings(settings)
    from boardrun.jobs.backends.local import LocalBackend

    return LocalBackend.from_settings(settings)


def set_backend(backend: JobBackend | None) -> None:
    """Install a backend (the embedded server, tests); None forgets the current one."""
    services.current().set_backend(backend)
