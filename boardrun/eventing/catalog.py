"""The catalogue of event types this product emits and consumes (events/README.md).

Each type's data has a JSON Schema in events/schemas/<type>.json; producers validate
before sending and consumers validate before acting, so a malformed event is a
permanent (4xx) error, not a retry loop.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from boardrun.config import get_settings

JOB_SUBMITTED = "dev.boardrun.job.submitted"
JOB_CANCEL_REQUESTED = "dev.boardrun.job.cancel.requested"
JOB_STARTED = "dev.boardrun.job.started"
JOB_PROGRESS = "dev.boardrun.job.progress"
JOB_EVENTS = "dev.boardrun.job.events"
JOB_COMPLETED = "dev.boardrun.job.completed"
JOB_FAILED = "dev.boardrun.job.failed"
JOB_CANCELLED = "dev.boardrun.job.cancelled"

OUR_TYPES = (JOB_SUBMITTED, JOB_CANCEL_REQUESTED, JOB_STARTED, JOB_PROGRESS, JOB_EVENTS, JOB_COMPLETED, JOB_FAILED,
             JOB_CANCELLED)
EXECUTOR_TYPES = (JOB_STARTED, JOB_PROGRESS, JOB_EVENTS, JOB_COMPLETED, JOB_FAILED, JOB_CANCELLED)

# Foreign types the dispatcher consumes.
PING = "dev.knative.sources.ping"
APISERVER_PREFIX = "dev.knative.apiserver.resource."

# Sources (URI references). Executor events carry the job id so source+id is unique per job.
JOBS_SOURCE = "/boardrun/jobs"


def executor_source(job_id: str) -> str:
    return f"/boardrun/executor/{job_id}"


# Extension attributes (CloudEvents names: lowercase letters and digits only).
EXT_JOB_ID = "jobid"
EXT_APP_ID = "appid"
EXT_SIGNATURE = "jobsig"  # HMAC of an executor event with the job's token


@lru_cache(maxsize=None)
def _schemas(events_dir: Path) -> dict[str, dict[str, Any]]:
    return {path.stem: json.loads(path.read_text()) for path in sorted((events_dir / "schemas").glob("*.json"))}


@lru_cache(maxsize=None)
def _registry(events_dir: Path):
    """The schemas by their $id, for the references between them (a terminal report holds the
    data of a job.events event)."""
    from referencing import Registry, Resource

    return Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in _schemas(events_dir).values())


def data_problems(event_type: str, data: Any) -> list[dict[str, str]]:
    """Schema violations of an event's data ([] when valid)."""
    from boardrun.web import schema_problems

    events_dir = get_settings().eventing.events_dir
    return schema_problems(data, _schemas(events_dir)[event_type], _registry(events_dir))
