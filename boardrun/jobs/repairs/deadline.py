"""Repair: a launched job still running past its deadline (the backend did not stop it)."""

from __future__ import annotations

from datetime import timedelta

from boardrun.config import get_settings
from boardrun.jobs import lifecycle, states
from boardrun.jobs.backends.base import RunnerPhase, RunnerStatus
from boardrun.jobs.models import Job
from boardrun.jobs.repairs.sweep import Sweep, locked_active


def fail_overdue_jobs(sweep: Sweep) -> int:
    """Fail `timeout` every launched job past its deadline + JOB_DEADLINE_GRACE_SECONDS;
    its runner, listed or not, is then stopped by `stop_orphan_runners`."""
    grace = timedelta(seconds=get_settings().jobs.deadline_grace)

    def change(job: Job) -> states.Change | None:
        return lifecycle.past_deadline(job, now=sweep.now, grace=grace)

    def fail(job_id: str) -> int:
        with locked_active(job_id) as job:
            if job is None or not states.apply(job, change(job)):
                return 0
        sweep.runners.setdefault(job_id, RunnerStatus(job_id, RunnerPhase.RUNNING))
        return 1

    return sweep.each_active(fail, Job.launched_at.is_not(None), due=lambda job: change(job) is not None)
