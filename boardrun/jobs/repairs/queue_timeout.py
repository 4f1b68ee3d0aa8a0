"""Repair: a job that was never launched, long after its submission."""

from __future__ import annotations

from datetime import timedelta

from boardrun.config import get_settings
from boardrun.jobs import lifecycle, states
from boardrun.jobs.models import Job
from boardrun.jobs.repairs.sweep import Sweep, locked_active


def fail_undispatched_jobs(sweep: Sweep) -> int:
    """Fail `not_dispatched` every job still unlaunched JOB_QUEUE_TIMEOUT_SECONDS after its
    submission, except one waiting for a slot in the backend's own queue."""
    timeout = timedelta(seconds=get_settings().jobs.queue_timeout)

    def change(job: Job) -> states.Change | None:
        return None if sweep.waits_for_slot(job.id) else lifecycle.never_dispatched(job, now=sweep.now, queue_timeout=timeout)

    def fail(job_id: str) -> int:
        with locked_active(job_id) as job:
            return int(job is not None and states.apply(job, change(job)))

    return sweep.each_active(fail, Job.launched_at.is_(None), due=lambda job: change(job) is not None)
