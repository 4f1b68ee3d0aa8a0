"""Repair: a runner still going although its job is finished (or unknown)."""

from __future__ import annotations

import logging

from sqlalchemy import select

from boardrun.db import read_scope
from boardrun.jobs.backends.base import PermanentBackendError, RunnerPhase, TransientBackendError
from boardrun.jobs.models import Job
from boardrun.jobs.repairs.sweep import Sweep
from boardrun.jobs.states import TERMINAL

log = logging.getLogger(__name__)


def stop_orphan_runners(sweep: Sweep) -> int:
    """Stop the pending or running runners whose job is finished or not in the database."""
    live = {job_id for job_id, runner in sweep.runners.items() if runner.phase in (RunnerPhase.PENDING, RunnerPhase.RUNNING)}
    if not live:
        return 0
    with read_scope() as session:
        finished = set(session.scalars(select(Job.id).where(Job.id.in_(live), Job.status.in_(TERMINAL))).all())
        known = set(session.scalars(select(Job.id).where(Job.id.in_(live))).all())
    stopped = 0
    for job_id in finished | (live - known):
        try:
            sweep.backend.cancel(job_id)
            stopped += 1
        except (TransientBackendError, PermanentBackendError) as exc:
            log.warning("could not stop the runner of finished job %s: %s", job_id, exc)
    return stopped
