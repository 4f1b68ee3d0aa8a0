"""Repair: a launched job whose runner ended or vanished and whose last report never came."""

from __future__ import annotations

from boardrun.jobs.backends.base import RunnerPhase, RunnerStatus
from boardrun.jobs.lifecycle import runner_ended
from boardrun.jobs.models import Job
from boardrun.jobs.outcomes import apply_runner_status
from boardrun.jobs.repairs.sweep import Sweep, locked_active


def settle_lost_runners(sweep: Sweep) -> int:
    """Each launched job is held against its runner: the outcome the executor stored
    ends the job; without one a failed, finished or (after JOB_LOST_GRACE_SECONDS)
    vanished runner fails it (lost_runner, oom_killed, timeout...)."""

    def runner(job_id: str) -> RunnerStatus:
        return sweep.runners.get(job_id) or RunnerStatus(job_id, RunnerPhase.MISSING)

    def settle(job_id: str) -> int:
        with locked_active(job_id) as job:
            return int(job is not None and apply_runner_status(job, runner(job_id)))

    return sweep.each_active(settle, Job.launched_at.is_not(None), due=lambda job: runner_ended(job, runner(job.id)))
