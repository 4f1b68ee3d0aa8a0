"""A job as the API shows it (`GET /jobs/{id}` and the lists), and its result."""

from __future__ import annotations

import json
import logging
from typing import Any

from boardrun.executor.run import max_result_bytes
from boardrun.jobs.models import Job
from boardrun.jobs.services import owns_key
from boardrun.jobs.states import JobStatus
from boardrun.storage import get_storage
from boardrun.web import iso_time

log = logging.getLogger(__name__)


def load_result(job: Job) -> Any:
    if job.result_ref:
        if not owns_key(job.id, job.result_ref):  # checked on arrival too; rows from before that
            log.error("job %s: its result reference %r is outside its prefix; withheld", job.id, job.result_ref)
            return None
        storage = get_storage()
        size, limit = storage.size(job.result_ref), max_result_bytes()
        if size > limit:  # never read a huge object into the API's memory
            log.error("job %s: its result is %d bytes, over JOB_MAX_RESULT_BYTES (%d); withheld", job.id, size, limit)
            return None
        return json.loads(storage.get(job.result_ref))
    return job.result


def job_json(job: Job, *, with_result: bool = True) -> dict[str, Any]:
    """GET /jobs/{id}: the spec's fields first, then ours (lists leave the result out)."""
    body: dict[str, Any] = {
        "job_id": job.id,
        "status": job.status,
        "started_at": iso_time(job.started_at),
        "completed_at": iso_time(job.completed_at),
        "error": job.error if job.status in (JobStatus.FAILED, JobStatus.CANCELLED) else None,
        "created_at": iso_time(job.created_at),
        "app_id": job.app_id,
        "board_id": job.board_id,
        "version": job.version,
        "mode": job.mode,
        "attempt": job.attempt,
        "steps": job.steps,
        "progress": job.progress,
        "trigger": job.trigger,
    }
    if with_result and job.status == JobStatus.COMPLETED:
        body["result"] = load_result(job)
    return body
