"""How a run ended, as the dispatcher and the repairs learn it: the executor's terminal
report (an event, or the outcome file it stores before it emits its last event), or
the backend's evidence about its runner. Each function takes a locked job, asks the
lifecycle what changes and writes it.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import object_session

from boardrun import metrics
from boardrun.config import get_settings
from boardrun.db import utcnow
from boardrun.eventing import catalog
from boardrun.executor.run import max_result_bytes
from boardrun.jobs import lifecycle, states
from boardrun.jobs.backends import get_backend
from boardrun.jobs.backends.base import RunnerStatus
from boardrun.jobs.models import Job
from boardrun.jobs.services import add_job_events, job_key, owns_key
from boardrun.storage import StorageError, StorageNotFound, get_storage

log = logging.getLogger(__name__)


def result_ref_problem(job_id: str, ref: Any) -> str | None:
    """Why a completion's result reference is unacceptable (None if it is fine). A job's
    token signs reports about that job only, so its result must lie under its own
    prefix: anything else would let one job show another job's files as its result."""
    if ref is None:
        return None
    key = ref.get("key") if isinstance(ref, dict) else None
    if not isinstance(key, str) or not owns_key(job_id, key):
        return f"result_ref of job {job_id} must be a key under {job_key(job_id, '')}"
    return None


def stream_batch_problem(job_id: str, data: Any) -> str | None:
    """Why the stream batch a terminal report carries (`last_events`) is unacceptable (None
    if there is none or it is fine): held to what a job.events event of that job must be,
    its schema and its job id, since the report's signature vouches for that job only."""
    last = data.get("last_events") if isinstance(data, dict) else None
    if last is None:
        return None
    if catalog.data_problems(catalog.JOB_EVENTS, last) or last.get("job_id") != job_id:
        return f"last_events of job {job_id} must be a job.events batch of that job"
    return None


def read_outcome(job_id: str) -> dict[str, Any] | None:
    """The terminal report the executor stores before it emits its last event. One
    whose result reference points outside the job's prefix is no outcome."""
    try:
        outcome = json.loads(get_storage().get(job_key(job_id, "outcome.json")))
    except StorageNotFound:
        return None
    if isinstance(outcome, dict) and outcome.get("type") == catalog.JOB_COMPLETED:
        problem = result_ref_problem(job_id, (outcome.get("data") or {}).get("result_ref"))
        if problem:
            log.error("job %s: its stored outcome is ignored: %s", job_id, problem)
            return None
    data = outcome.get("data") if isinstance(outcome, dict) else None
    problem = stream_batch_problem(job_id, data)
    if problem:  # the status stands, the batch is dropped
        log.error("job %s: the stream batch in its stored outcome is not stored: %s", job_id, problem)
        del data["last_events"]
    return outcome


def _write_outcome(job: Job, change: states.Change | None, report: dict[str, Any]) -> bool:
    last_events = report.get("last_events")
    if last_events:  # the stream's last batch came with the report: stored with the status
        add_job_events(object_session(job), job.id, last_events)
    changed = states.apply(job, change)
    if changed:  # once per job, like the status write
        metrics.executor_usage(job, report.get("cpu_ms"), report.get("max_rss_bytes"))
    return changed


def apply_outcome(job: Job, event_type: str, data: dict[str, Any], *, at: datetime | None = None) -> bool:
    """A terminal report (an event sent `at`, or the outcome file the executor stored) → status."""
    change = lifecycle.finished(job, event_type, data, now=at or utcnow(), max_result_bytes=max_result_bytes())
    return _write_outcome(job, change, data)


def lost_grace_seconds() -> float:
    """How long a launched job may have no runner before it is declared lost (a Job
    being created, an executor event in flight)."""
    return get_settings().jobs.lost_grace


def apply_runner_status(job: Job, status: RunnerStatus, *, missing_grace: float | None = None) -> bool:
    """What the backend saw (Kubernetes Job status, a local process exit) → status, with
    the outcome the executor stored when the runner has ended."""
    if not lifecycle.runner_ended(job, status):
        return False
    try:
        outcome = read_outcome(job.id)
    except (StorageError, ValueError) as exc:
        log.warning("cannot read the outcome of job %s: %s", job.id, exc)
        return False
    grace = lost_grace_seconds() if missing_grace is None else missing_grace
    change = lifecycle.runner_observed(
        job,
        status,
        outcome,
        now=utcnow(),
        lost_grace=timedelta(seconds=grace),
        failure_reasons=get_backend().failure_reasons,
        max_result_bytes=max_result_bytes(),
    )
    return _write_outcome(job, change, outcome["data"]) if outcome is not None else states.apply(job, change)
