"""The one state machine every status write goes through.

queued → running → completed | failed | cancelled (queued may also go straight to a
terminal state). Monotonic: a late or duplicated event never moves a job backwards,
and a terminal state is final.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the executor imports the codes below; it must not pay for the ORM
    from boardrun.jobs.models import Job

QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED = "queued", "running", "completed", "failed", "cancelled"
TERMINAL = frozenset({COMPLETED, FAILED, CANCELLED})
_RANK = {QUEUED: 0, RUNNING: 1, COMPLETED: 2, FAILED: 2, CANCELLED: 2}

# Failure codes a job's `error.code` can carry.
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
CANCELLED_CODE = "cancelled"  # error.code of a cancelled job
GENERIC_FAILURE = "failed"  # a failure that named no code
ERROR_CODES = frozenset({NODE_ERROR, INVALID_BOARD, STEP_LIMIT, TIMEOUT, LOST_RUNNER, INTERRUPTED, OOM_KILLED,
                         LAUNCH_FAILED, UNDELIVERABLE, NOT_DISPATCHED, MEMORY_LIMIT, RESULT_TOO_LARGE,
                         CANCELLED_CODE, GENERIC_FAILURE})


def is_terminal(status: str) -> bool:
    return status in TERMINAL


def transition(
    job: "Job",
    to: str,
    *,
    at: datetime | None = None,
    error: dict[str, Any] | None = None,
    result: Any = None,
    result_ref: str | None = None,
    steps: int | None = None,
) -> bool:
    """Move `job` to `to` if that is forward; returns whether anything changed.
    The caller holds the job row locked (SELECT … FOR UPDATE) and commits."""
    if to not in _RANK:
        raise ValueError(f"unknown job state {to!r}")
    if job.status in TERMINAL or _RANK[to] <= _RANK[job.status]:
        return False
    at = at or datetime.now(timezone.utc)
    job.status = to
    if to == RUNNING:
        job.started_at = job.started_at or at
    if to in TERMINAL:
        job.completed_at = at
        if to == COMPLETED:
            job.result, job.result_ref = result, result_ref
        if to == FAILED:
            job.error = error or {"code": GENERIC_FAILURE, "message": "the job failed"}
        if to == CANCELLED:
            job.error = error
    if steps is not None:
        job.steps = steps
    from boardrun import metrics  # here, not at the top: the executor imports this module

    metrics.job_transitioned(job, to)
    return True
