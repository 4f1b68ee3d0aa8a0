"""What the repairs of one reconcile pass share: the backend, its runners listed once
(one API call for every repair), the pass's clock, and a loop over active jobs that
one broken job cannot stall and that locks only the jobs a repair is due for."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from boardrun.db import read_scope, session_scope, utcnow
from boardrun.jobs.backends import get_backend
from boardrun.jobs.backends.base import JobBackend, RunnerStatus
from boardrun.jobs.models import Job, locked_job
from boardrun.jobs.states import ACTIVE, is_terminal
from boardrun.storage import StorageError

log = logging.getLogger(__name__)


@dataclass
class Sweep:
    backend: JobBackend
    runners: dict[str, RunnerStatus]  # by job id, as the backend listed them at the start
    now: datetime

    @classmethod
    def take(cls) -> "Sweep":
        """List the backend's runners now (TransientBackendError if it cannot)."""
        backend = get_backend()
        return cls(backend, {r.job_id: r for r in backend.list_runners()}, utcnow())

    def waits_for_slot(self, job_id: str) -> bool:
        """Whether the job waits in the backend's own queue (local: for a free slot): it is
        neither lost nor late, and the backend records its start itself."""
        return self.backend.queues_launches and job_id in self.runners

    def each_active(self, repair: Callable[[str], int], *where: Any, due: Callable[[Job], bool]) -> int:
        """Run `repair` on every active job matching `where` that is `due` for it, oldest first;
        returns the sum of what it counted. `due` is judged on an unlocked read, so a pass
        over many jobs with nothing to repair (a burst waiting for slots) takes no write lock;
        `repair` locks the job and judges again. A job it cannot process is logged and
        skipped, so it cannot stall every other; the database or storage being down fails
        the whole pass (the next tick retries)."""
        with read_scope() as session:
            jobs = session.scalars(select(Job).where(Job.status.in_(ACTIVE), *where).order_by(Job.created_at)).all()
            ids = [job.id for job in jobs if due(job)]
        changed = 0
        for job_id in ids:
            try:
                changed += repair(job_id)
            except (OperationalError, StorageError):
                raise
            except Exception:
                log.exception("%s: job %s failed", repair.__qualname__.split(".")[0], job_id)
        return changed


@contextmanager
def locked_active(job_id: str) -> Iterator[Job | None]:
    """The job locked in a transaction of its own; None if it is gone or finished meanwhile."""
    with session_scope() as session:
        job = locked_job(session, job_id)
        yield job if job is not None and not is_terminal(job.status) else None
