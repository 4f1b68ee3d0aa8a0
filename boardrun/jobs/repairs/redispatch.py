"""Repair: a submission whose job.submitted event was lost or dead-lettered."""

from __future__ import annotations

import logging
from datetime import timedelta

from boardrun.config import get_settings
from boardrun.db import session_scope
from boardrun.jobs import lifecycle
from boardrun.jobs.backends.base import PermanentBackendError, TransientBackendError
from boardrun.jobs.launches import launch_spec, record_launch
from boardrun.jobs.models import Job, locked_job
from boardrun.jobs.repairs.sweep import Sweep, locked_active

log = logging.getLogger(__name__)


def redispatch_lost_submissions(sweep: Sweep, *, after: timedelta | None = None) -> int:
    """Launch every job still unlaunched `after` (JOB_REDISPATCH_AFTER_SECONDS) its
    submission, unless it was cancelled or waits for a slot in the backend's queue."""
    if after is None:
        after = timedelta(seconds=get_settings().jobs.redispatch_after)

    def due(job: Job) -> bool:
        return not sweep.waits_for_slot(job.id) and lifecycle.due_for_redispatch(job, now=sweep.now, after=after)

    def relaunch(job_id: str) -> int:
        with locked_active(job_id) as job:
            if job is None or not due(job):
                return 0
            spec = launch_spec(job)
        try:  # outside the transaction: a backend call must not hold the row
            sweep.backend.launch(spec)
        except (TransientBackendError, PermanentBackendError) as exc:
            log.warning("re-launch of job %s failed: %s", job_id, exc)
            return 0
        if sweep.backend.queues_launches:  # it records the start itself, when a slot frees
            return 1
        with session_scope() as session:
            job = locked_job(session, job_id)
            if job is None or job.launched_at is not None:
                return 0
            record_launch(job)
            return 1

    return sweep.each_active(relaunch, Job.launched_at.is_(None), due=due)
