"""The job lifecycle: what each executor report, each command and each piece of runner
evidence changes on a job. Every rule is here, and none does I/O.

Each function takes the job as it is now (read, never written) and what happened, and
answers the `states.Change` to write, or None when nothing changes: a late report after
a terminal state, evidence that proves nothing yet. The callers (the dispatcher, the
dead-letter sink, the periodic repairs, the jobs service) load and lock the row, ask
here, and write the answer with `states.apply`. The clock and the limits are arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from boardrun.eventing import catalog
from boardrun.jobs.backends.base import CANCELLED_REASON, RunnerPhase, RunnerStatus
from boardrun.jobs.states import Change, ErrorCode, JobStatus, is_terminal, may_move

if TYPE_CHECKING:
    from boardrun.jobs.models import Job

# What a runner's failure reason means when its backend names none of its own.
FailureReasons = Mapping[str, tuple[ErrorCode, str]]

CANCELLED_BY_REQUEST = "cancelled by request"
PROGRESS_FIELDS = ("node_id", "node_name", "kind", "level", "message", "progress")


def _fail(job: "Job", code: ErrorCode, message: str, **detail: Any) -> Change | None:
    if not may_move(job.status, JobStatus.FAILED):
        return None
    return Change(JobStatus.FAILED, error={"code": code, "message": message, **detail})


# -- commands -----------------------------------------------------------------


def may_launch(job: "Job") -> bool:
    """Whether a runner may still start for this job (not finished, no cancel asked)."""
    return not is_terminal(job.status) and job.cancel_requested_at is None


def cancelled(job: "Job", message: str = CANCELLED_BY_REQUEST) -> Change | None:
    """A cancel request was carried out (the runner stopped, or there was none yet)."""
    if not may_move(job.status, JobStatus.CANCELLED):
        return None
    return Change(JobStatus.CANCELLED, error={"code": ErrorCode.CANCELLED, "message": message})


def launch_failed(job: "Job", message: str) -> Change | None:
    """The backend refused to start the runner for good."""
    return _fail(job, ErrorCode.LAUNCH_FAILED, message)


def waits_for(job: "Job", event_type: str) -> bool:
    """Whether the job still waits for this command: a dead letter of a submission that
    was launched meanwhile, or of a cancel nobody asked for, is no reason to fail it."""
    if is_terminal(job.status):
        return False
    if event_type == catalog.JOB_SUBMITTED:
        return job.launched_at is None and job.cancel_requested_at is None
    if event_type == catalog.JOB_CANCEL_REQUESTED:
        return job.cancel_requested_at is not None
    return False  # an executor report: kept for operators, the repairs settle the job


def undeliverable(job: "Job", event_type: str) -> Change | None:
    """The broker gave up delivering an event about the job."""
    if not waits_for(job, event_type):
        return None
    return _fail(job, ErrorCode.UNDELIVERABLE, f"the {event_type} event could not be delivered")


# -- executor reports ---------------------------------------------------------


def reported_at(sent: str | None, *, launched_at: datetime | None, now: datetime) -> datetime:
    """When a report was sent, by its event's own time, kept between the job's launch and `now`
    (a clock off, a time missing or malformed: the bound it passes, or now). Reports may wait in
    the broker, and one job's may be delivered after the next job's: their arrival is not when
    things happened."""
    try:
        at = datetime.fromisoformat(sent.replace("Z", "+00:00")) if sent else now
    except ValueError:
        at = now
    if at.tzinfo is None:
        at = now
    if launched_at is not None and at < launched_at:
        at = launched_at
    return min(at, now)


def started(job: "Job", data: Mapping[str, Any], *, now: datetime) -> Change | None:
    """job.started, sent at `now`: once the run has gone on a while (`running_ms`), so it began that much earlier."""
    if not may_move(job.status, JobStatus.RUNNING):
        return None
    running = data.get("running_ms")
    began = now - timedelta(milliseconds=running) if isinstance(running, (int, float)) and job.started_at is None else None
    return Change(JobStatus.RUNNING, started_at=began, at=now)


def progressed(job: "Job", data: Mapping[str, Any]) -> Change | None:
    """job.progress: the job runs (if its start report is late) and shows where."""
    if is_terminal(job.status):
        return None
    return Change(
        JobStatus.RUNNING if may_move(job.status, JobStatus.RUNNING) else None,
        progress={k: data.get(k) for k in PROGRESS_FIELDS},
        steps=data.get("steps", job.steps),
    )


def finished(job: "Job", event_type: str, data: Mapping[str, Any], *, now: datetime, max_result_bytes: int) -> Change | None:
    """A terminal report (job.completed, job.failed, job.cancelled: an event, or the
    outcome file the executor stored), made at `now`: the job's completion time."""
    change = _finished(job, event_type, data, now=now, max_result_bytes=max_result_bytes)
    return replace(change, at=now) if change is not None else None


def _finished(job: "Job", event_type: str, data: Mapping[str, Any], *, now: datetime, max_result_bytes: int) -> Change | None:
    if event_type not in (catalog.JOB_COMPLETED, catalog.JOB_FAILED, catalog.JOB_CANCELLED):
        raise ValueError(event_type)
    if is_terminal(job.status):
        return None
    steps = data.get("steps")
    duration = data.get("duration_ms")
    started_at = None
    if job.started_at is None and isinstance(duration, (int, float)):
        # Its 'started' report is late (events may arrive out of order) or lost: the run's
        # own duration says when it began.
        started_at = now - timedelta(milliseconds=duration)
    if event_type == catalog.JOB_COMPLETED:
        ref = data.get("result_ref")
        if ref and ref["size_bytes"] > max_result_bytes:
            # The executor enforces the cap; one started with another cap is held to ours.
            message = f"the result is {ref['size_bytes']} bytes; the limit (JOB_MAX_RESULT_BYTES) is {max_result_bytes}"
            error = {"code": ErrorCode.RESULT_TOO_LARGE, "message": message}
            return Change(JobStatus.FAILED, error=error, steps=steps, started_at=started_at)
        return Change(JobStatus.COMPLETED, result=data.get("result"), result_ref=ref["key"] if ref else None,
                      steps=steps, started_at=started_at)
    if event_type == catalog.JOB_FAILED:
        return Change(JobStatus.FAILED, error=data["error"], steps=steps, started_at=started_at)
    if job.cancel_requested_at is None:
        # The executor stops on SIGTERM whoever sends it; only a user's request is a cancel.
        error = {"code": ErrorCode.INTERRUPTED,
                 "message": "the executor was stopped before the board finished (shutdown, node drain or eviction)"}
        return Change(JobStatus.FAILED, error=error, steps=steps, started_at=started_at)
    error = {"code": ErrorCode.CANCELLED, "message": CANCELLED_BY_REQUEST}
    return Change(JobStatus.CANCELLED, error=error, steps=steps, started_at=started_at)


# -- runner evidence ----------------------------------------------------------


def runner_ended(job: "Job", runner: RunnerStatus) -> bool:
    """Whether this evidence may end the job: its runner failed, finished or is gone.
    The caller then reads the outcome the executor stored, for `runner_observed`."""
    return not is_terminal(job.status) and runner.phase in (RunnerPhase.FAILED, RunnerPhase.SUCCEEDED, RunnerPhase.MISSING)


def runner_observed(
    job: "Job",
    runner: RunnerStatus,
    outcome: Mapping[str, Any] | None,
    *,
    now: datetime,
    lost_grace: timedelta,
    failure_reasons: FailureReasons,
    max_result_bytes: int,
) -> Change | None:
    """What the backend saw (Kubernetes Job status, a local process exit), with the
    outcome the executor stored (None: none).

    The stored outcome wins when there is one: it is what the board did. Otherwise a
    failed, finished-without-report or vanished runner fails the job; a vanished one
    only after `lost_grace` since its launch (a Job being created, an event in flight)."""
    if not runner_ended(job, runner):
        return None
    if outcome is not None:
        return finished(job, outcome["type"], outcome["data"], now=now, max_result_bytes=max_result_bytes)
    if runner.reason == CANCELLED_REASON:  # we stopped it on request before it could report
        return cancelled(job)
    if runner.phase == RunnerPhase.MISSING:
        if job.launched_at is None or now - job.launched_at < lost_grace:
            return None
        code, message = ErrorCode.LOST_RUNNER, "the executor vanished without reporting"
    elif runner.phase == RunnerPhase.SUCCEEDED:
        code, message = ErrorCode.LOST_RUNNER, "the executor finished without reporting an outcome"
    else:
        code, message = failure_reasons.get(runner.reason or "", (ErrorCode.LOST_RUNNER, "the executor failed"))
        if runner.message:
            message = f"{message}: {runner.message}"
    return _fail(job, code, message, runner_reason=runner.reason)


# -- the periodic repairs -----------------------------------------------------


def past_deadline(job: "Job", *, now: datetime, grace: timedelta) -> Change | None:
    """A launched job still running past its deadline and `grace` fails as timed out
    (its runner is stopped by the caller)."""
    if job.launched_at is None or now - job.launched_at <= timedelta(seconds=job.deadline_seconds) + grace:
        return None
    return _fail(job, ErrorCode.TIMEOUT, "the job ran past its deadline")


def never_dispatched(job: "Job", *, now: datetime, queue_timeout: timedelta) -> Change | None:
    """A job still unlaunched `queue_timeout` after its submission fails."""
    if job.launched_at is not None or now - job.created_at <= queue_timeout:
        return None
    return _fail(job, ErrorCode.NOT_DISPATCHED, "the job was never launched")


def due_for_redispatch(job: "Job", *, now: datetime, after: timedelta) -> bool:
    """Whether a job unlaunched `after` its submission should be launched again (its
    job.submitted event was lost or dead-lettered)."""
    return may_launch(job) and job.launched_at is None and now - job.created_at > after
