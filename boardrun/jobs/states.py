"""A job's states and error codes, and the one write of its status.

queued → running → completed | failed | cancelled (queued may also go straight to a
terminal state). Monotonic: a late or duplicated event never moves a job backwards,
and a terminal state is final. Which report or observation asks for which move is
decided in `lifecycle`; this module performs the moves (`apply`, `transition`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the executor imports the codes below; it must not pay for the ORM
    from boardrun.jobs.models import Job


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})
ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)
# Every move a job may make: forward only, none out of a terminal state.
_MOVES: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.QUEUED: frozenset({JobStatus.RUNNING}) | TERMINAL,
    JobStatus.RUNNING: TERMINAL,
    **{status: frozenset() for status in TERMINAL},
}


class ErrorCode(StrEnum):
    """The codes a failed or cancelled job's `error.code` carries (a board's own failure
    may name another: metrics count those as "other")."""

    NODE_ERROR = "node_error"
    INVALID_BOARD = "invalid_board"
    STEP_LIMIT = "step_limit"
    TIMEOUT = "timeout"  # deadline exceeded (engine or backend)
    LOST_RUNNER = "lost_runner"  # the runner vanished without reporting
    INTERRUPTED = "interrupted"  # stopped without a cancel request (shutdown, node drain, eviction)
    OOM_KILLED = "oom_killed"
    LAUNCH_FAILED = "launch_failed"
    UNDELIVERABLE = "undeliverable"  # an event about the job was dead-lettered
    NOT_DISPATCHED = "not_dispatched"
    MEMORY_LIMIT = "memory_limit"  # the run needed more memory than JOB_MEMORY_LIMIT_MB
    RESULT_TOO_LARGE = "result_too_large"  # the result is larger than JOB_MAX_RESULT_BYTES
    CANCELLED = "cancelled"  # error.code of a cancelled job
    GENERIC_FAILURE = "failed"  # a failure that named no code


# (`in ErrorCode` refuses a plain string on Python 3.11; metrics test codes as strings.)
ERROR_CODES = frozenset(ErrorCode)


def is_terminal(status: str) -> bool:
    return status in TERMINAL


def may_move(status: str, to: JobStatus) -> bool:
    """Whether a job in `status` may move to `to`."""
    return to in _MOVES[JobStatus(status)]


@dataclass(frozen=True)
class Change:
    """What a report or an observation changes on a job: `lifecycle` decides it, `apply` writes it."""

    status: JobStatus | None = None  # the move; None: no move (progress of a job already running)
    error: dict[str, Any] | None = None
    result: Any = None
    result_ref: str | None = None
    steps: int | None = None
    progress: dict[str, Any] | None = None
    started_at: datetime | None = None  # when the run began, if its start report never came
    at: datetime | None = None  # when the move happened (a report's own time); None: now


def apply(job: "Job", change: Change | None) -> bool:
    """Write `change` (None: nothing) onto the locked job row; returns whether its status moved."""
    if change is None:
        return False
    if change.started_at is not None:
        job.started_at = change.started_at
    if change.progress is not None:
        job.progress = change.progress
    if change.status is None:
        if change.steps is not None:
            job.steps = change.steps
        return False
    return transition(job, change.status, at=change.at, error=change.error, result=change.result,
                      result_ref=change.result_ref, steps=change.steps)


def transition(
    job: "Job",
    to: JobStatus,
    *,
    at: datetime | None = None,
    error: dict[str, Any] | None = None,
    result: Any = None,
    result_ref: str | None = None,
    steps: int | None = None,
) -> bool:
    """Move `job` to `to` if that is forward; returns whether anything changed.
    The caller holds the job row locked (SELECT … FOR UPDATE) and commits."""
    to = JobStatus(to)  # a typo is a programming error, not a silent no-op
    if not may_move(job.status, to):
        return False
    at = at or datetime.now(timezone.utc)
    previous, job.status = job.status, to
    if to == JobStatus.RUNNING:
        job.started_at = job.started_at or at
    if to in TERMINAL:
        job.completed_at = at
        if to == JobStatus.COMPLETED:
            job.result, job.result_ref = result, result_ref
        if to == JobStatus.FAILED:
            job.error = error or {"code": ErrorCode.GENERIC_FAILURE, "message": "the job failed"}
        if to == JobStatus.CANCELLED:
            job.error = error
    if steps is not None:
        job.steps = steps
    from boardrun import metrics  # here, not at the top: the executor imports this module

    metrics.job_transitioned(job, to, previous)
    return True
