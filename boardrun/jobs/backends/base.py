"""The job backend interface: what the dispatcher needs from whatever runs executors.

Two implementations: `local.LocalBackend` (a subprocess per job, embedded mode) and
`kubernetes.KubernetesBackend` (a batch/v1 Job per job). JOB_BACKEND chooses.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from boardrun.jobs.states import ErrorCode


@dataclass(frozen=True)
class LaunchSpec:
    job_id: str
    attempt: int
    app_id: str
    board_id: str
    deadline_seconds: int
    env: dict[str, str] = field(default_factory=dict)  # plain executor environment
    # Sensitive values (the job's event-signing token, storage credentials): a backend
    # must never write these inline into an object others can read (Kubernetes: a
    # per-job Secret referenced with secretKeyRef).
    secret_env: dict[str, str] = field(default_factory=dict)


class RunnerPhase(StrEnum):
    """A runner's phase as the backend sees it."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    MISSING = "missing"  # the backend has no runner for the job (never made, deleted, forgotten)


# Reasons every backend may give: it stopped the runner on request, or at the job's deadline.
CANCELLED_REASON = "Cancelled"
DEADLINE_EXCEEDED = "DeadlineExceeded"


@dataclass(frozen=True)
class RunnerStatus:
    job_id: str
    phase: RunnerPhase
    reason: str | None = None  # backend's reason: "OOMKilled", "DeadlineExceeded", "BackoffLimitExceeded", "ImagePullBackOff", "Evicted", "Signal9", …
    message: str | None = None
    attempt: int | None = None
    # The runner ended after its outcome report went out (the local backend knows it from the
    # exit code): that report writes the job's status.
    reported: bool = False


class BackendError(Exception):
    """Base of backend failures."""


class TransientBackendError(BackendError):
    """Try again later (API unreachable, 5xx, timeout, no capacity): the broker retries."""


class PermanentBackendError(BackendError):
    """Retrying cannot help (forbidden, invalid object): the job fails with this message."""


class JobBackend(ABC):
    name: str
    # A backend with a queue of its own (local: launches beyond JOB_CONCURRENCY wait for a
    # slot) records a job as launched itself, when its runner really starts; for the others
    # the dispatcher records it as soon as launch() returns.
    queues_launches: bool = False
    # What a failed runner's reason means as a job's error (any other: lost_runner).
    failure_reasons: Mapping[str, tuple[ErrorCode, str]] = {
        DEADLINE_EXCEEDED: (ErrorCode.TIMEOUT, "the job ran past its deadline"),
    }

    @abstractmethod
    def launch(self, spec: LaunchSpec) -> None:
        """Start the executor for this job. Idempotent: launching a job that already has a
        runner is a success and starts nothing."""

    @abstractmethod
    def cancel(self, job_id: str) -> None:
        """Stop the job's runner and everything it started. Unknown or finished: success."""

    @abstractmethod
    def status(self, job_id: str) -> RunnerStatus:
        """What the backend knows of this job's runner (MISSING if nothing)."""

    @abstractmethod
    def list_runners(self) -> list[RunnerStatus]:
        """Every runner this backend manages now (the periodic reconcile compares them
        with the jobs the database thinks are running)."""

    def close(self) -> None:
        """Release resources (threads, clients)."""
