"""Launching a job's runner: what the backend is given, and the record that it started.

Used by the dispatcher (a job.submitted event) and the redispatch repair (an event
that was lost).
"""

from __future__ import annotations

from boardrun import metrics
from boardrun.config import get_settings
from boardrun.db import utcnow
from boardrun.jobs import signing
from boardrun.jobs.backends.base import LaunchSpec
from boardrun.jobs.models import Job

def launch_spec(job: Job) -> LaunchSpec:
    settings = get_settings()
    env = {
        "JOB_ID": job.id,
        "JOB_SPEC_KEY": job.spec_key,
        "STORAGE_URL": settings.storage.url,
        "LOG_LEVEL": settings.server.log_level,
        **settings.jobs.executor_env(),
    }
    if settings.eventing.sink:
        env["K_SINK"] = settings.eventing.sink
    if settings.storage.s3_endpoint_url:
        env["S3_ENDPOINT_URL"] = settings.storage.s3_endpoint_url
    return LaunchSpec(
        job_id=job.id,
        attempt=job.attempt,
        app_id=job.app_id,
        board_id=job.board_id,
        deadline_seconds=job.deadline_seconds,
        env=env,
        secret_env={"JOB_TOKEN": signing.job_token(job.id)},
    )


def record_launch(job: Job) -> None:
    """The job's runner is launched (Kubernetes: its Job created; locally: its executor starting)."""
    job.launched_at = utcnow()
    metrics.job_launched(job)
