"""The JSON the job and execution endpoints take (the schema their views validate with)
and answer (OpenAPI components)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any


def submit_schema() -> dict[str, Any]:
    """The body of POST /jobs/submit and /api/v1/execution/run: deadline_seconds is
    bounded by the configured maximum, so the document states the limit the server keeps."""
    from boardrun.jobs.services import deadline_limits  # imported here: the routes table stays light

    return _submit_schema(deadline_limits()[1])


@lru_cache(maxsize=8)  # one object per maximum: boardrun.web caches a validator per schema
def _submit_schema(max_deadline: int) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["app_id", "board_id"],
        "additionalProperties": False,
        "properties": {
            "app_id": {"type": "string", "minLength": 1, "maxLength": 64},
            "board_id": {"type": "string", "minLength": 1, "maxLength": 128},
            "version": {"type": "string", "minLength": 1, "maxLength": 32},
            "payload": {},
            "mode": {"enum": ["async", "sync"]},
            "node_id": {"type": "string", "minLength": 1, "maxLength": 128},
            "variables": {"type": "object"},
            "deadline_seconds": {"type": "integer", "minimum": 1, "maximum": max_deadline},
        },
    }


COMPONENTS: dict[str, dict[str, Any]] = {
    "JobQueued": {
        "type": "object",
        "properties": {"job_id": {"type": "string"}, "status": {"type": "string"}},
        "required": ["job_id", "status"],
    },
    "Job": {
        "type": "object",
        "properties": {
            "job_id": {"type": "string"},
            "status": {"enum": ["queued", "running", "completed", "failed", "cancelled"]},
            "started_at": {"type": ["string", "null"], "format": "date-time"},
            "completed_at": {"type": ["string", "null"], "format": "date-time"},
            "error": {"$ref": "#/components/schemas/JobError"},
            "created_at": {"type": ["string", "null"], "format": "date-time"},
            "app_id": {"type": "string"},
            "board_id": {"type": "string"},
            "version": {"type": ["string", "null"]},
            "mode": {"type": "string"},
            "attempt": {"type": "integer"},
            "steps": {},
            "progress": {},
            "trigger": {
                "type": ["object", "null"],
                "description": "What started the job, when not a direct submit: kind (http, cron, cloudevent, invoke), event_id and the delivery's details",
            },
            "result": {},
        },
        "required": ["job_id", "status", "started_at", "completed_at", "error"],
    },
    "JobError": {
        "description": "Why a job failed or was cancelled (null otherwise).",
        "type": ["object", "null"],
        "required": ["code", "message"],
        "properties": {
            "code": {
                "enum": [
                    "node_error",
                    "invalid_board",
                    "step_limit",
                    "timeout",
                    "lost_runner",
                    "interrupted",
                    "oom_killed",
                    "launch_failed",
                    "undeliverable",
                    "not_dispatched",
                    "memory_limit",
                    "result_too_large",
                    "cancelled",
                ],
            },
            "message": {"type": "string"},
            "node_id": {"type": ["string", "null"]},
            "node_name": {"type": ["string", "null"]},
            "runner_reason": {"type": ["string", "null"]},
        },
    },
    "Run": {
        "type": "object",
        "properties": {
            "run_id": {"type": "string"},
            "app_id": {"type": "string"},
            "board_id": {"type": "string"},
            "version": {"type": ["string", "null"]},
            "node_id": {"type": ["string", "null"]},
            "status": {"enum": ["Pending", "Running", "Completed", "Failed", "Cancelled"]},
            "mode": {"type": "string"},
            "progress": {},
            "error": {"$ref": "#/components/schemas/JobError"},
            "steps": {},
            "created_at": {"type": ["string", "null"], "format": "date-time"},
            "started_at": {"type": ["string", "null"], "format": "date-time"},
            "completed_at": {"type": ["string", "null"], "format": "date-time"},
            "result": {},
        },
        "required": ["run_id", "status"],
    },
    "EventOutcome": {"type": "object", "properties": {"status": {"type": "string"}, "event_id": {"type": "string"}}},
    "JobPage": {
        "type": "object",
        "required": ["jobs", "next_cursor"],
        "properties": {
            "jobs": {"type": "array", "items": {"$ref": "#/components/schemas/Job"}},
            "next_cursor": {"type": ["string", "null"]},
        },
    },
    "JobLog": {
        "type": "object",
        "required": ["job_id", "status", "complete", "lines"],
        "properties": {
            "job_id": {"type": "string"},
            "status": {"type": "string"},
            "complete": {"type": "boolean"},
            "lines": {"type": "array", "items": {"type": "object"}},
        },
    },
}
