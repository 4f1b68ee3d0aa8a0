"""/jobs/* (the spec's Job Management endpoints) and /api/v1/execution/* (the same
pipeline, rendered in the user-facing run shape)."""

from __future__ import annotations

import json
import time
from typing import Any, Callable, Iterator

from werkzeug.wrappers import Request, Response

from boardrun.accounts.auth import require_principal
from boardrun.errors import NotFound, Unprocessable
from boardrun.jobs import render, services, states
from boardrun.jobs.models import Job
from boardrun.jobs.states import JobStatus
from boardrun.jobs.schemas import submit_schema
from boardrun.web import iso_time, json_body, json_response, no_content, query_int

IDEMPOTENCY_HEADER = "Idempotency-Key"


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not (1 <= len(key) <= 255) or not key.isprintable():
        raise Unprocessable(
            "Idempotency-Key must be 1 to 255 printable characters",
            details=[{"field": IDEMPOTENCY_HEADER, "message": "1 to 255 printable characters"}],
        )
    if key.startswith(services.TRIGGER_KEY_PREFIX):
        raise Unprocessable(
            f"Idempotency-Key may not start with '{services.TRIGGER_KEY_PREFIX}' (reserved for events)",
            details=[{"field": IDEMPOTENCY_HEADER, "message": "reserved prefix"}],
        )
    return key


def _submit(request: Request, render: Callable[[Job], dict[str, Any]], location: str) -> Response:
    principal = require_principal(request)
    body = json_body(request, submit_schema())
    submission = services.submit(principal, body, _idempotency_key(request))
    job = submission.job
    if body.get("mode") == "sync" and not states.is_terminal(job.status):
        job = services.wait_for_terminal(job.id, services.sync_wait_seconds()) or job
    headers = {"Location": location.format(id=job.id)}
    if submission.replayed:
        headers["Idempotent-Replayed"] = "true"
    if states.is_terminal(job.status) and body.get("mode") == "sync":
        return json_response(render(job), 200, headers)
    return json_response(render(job), 202, headers)


def submit(request: Request) -> Response:
    return _submit(request, _queued_or_full, "/jobs/{id}")


def _queued_or_full(job: Job) -> dict[str, Any]:
    # async answers exactly the spec's {"job_id","status"}; a finished sync job the full record
    if states.is_terminal(job.status):
        return render.job_json(job)
    return {"job_id": job.id, "status": job.status}


def get(request: Request, job_id: str) -> Response:
    job = services.get_job(require_principal(request), job_id)
    return json_response(render.job_json(job), headers={"Cache-Control": "no-store"})


def list_(request: Request) -> Response:
    principal = require_principal(request)
    app_id = request.args.get("app_id")
    if not app_id:
        raise Unprocessable("app_id is required", details=[{"field": "app_id", "message": "required"}])
    status = request.args.get("status")
    if status is not None and status not in _STATES:
        raise Unprocessable(f"status must be one of {', '.join(_STATES)}", details=[{"field": "status", "message": "unknown state"}])
    jobs, cursor = services.list_jobs(
        principal, app_id, status=status, limit=query_int(request, "limit", 20, minimum=1, maximum=100),
        cursor=request.args.get("cursor"), event_id=request.args.get("event_id") or None,
    )
    body = {"jobs": [render.job_json(j, with_result=False) for j in jobs], "next_cursor": cursor}
    return json_response(body, headers={"Cache-Control": "no-store"})


_STATES = tuple(JobStatus)


def logs(request: Request, job_id: str) -> Response:
    job, lines = services.job_log(require_principal(request), job_id)
    return json_response(
        {"job_id": job.id, "status": job.status, "complete": states.is_terminal(job.status), "lines": lines},
        headers={"Cache-Control": "no-store"},
    )


# -- GET /jobs/{id}/events: Server-Sent Events -------------------------------------

SSE_POLL_SECONDS = 0.25  # across processes (the cluster) new events are found by polling
SSE_HEARTBEAT_SECONDS = 15.0
# Event batches may be delivered out of order, or after the job's final status. A gap in the
# numbers, or a finished job whose executor's end marker has not arrived, is waited for this long;
# after it the stream goes on without what is missing (an executor killed mid-run sends no marker).
SSE_STRAGGLER_SECONDS = 5.0
END_MARKER = "end"  # the executor's last stream event; never sent to clients


def _last_event_id(request: Request) -> int:
    raw = request.headers.get("Last-Event-ID") or request.args.get("last_event_id") or "0"
    if not raw.isdigit() or len(raw) > 18:
        raise Unprocessable("Last-Event-ID must be the id of an event of this stream (a non-negative integer)",
                            details=[{"field": "Last-Event-ID", "message": "not an event id"}])
    return int(raw)


def _sse(event: str, data: Any, event_id: int | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'), default=str)}\n\n".encode()


def _event_stream(job_id: str, after: int) -> Iterator[bytes]:
    yield b"retry: 2000\n\n"
    last_sent = time.monotonic()
    waiting_since: float | None = None  # for a gap in the numbers, or for the end marker
    while True:
        try:
            job, rows, end = services.job_events_after(job_id, after)
        except NotFound:
            return  # the job was deleted with its app
        late = waiting_since is not None and time.monotonic() - waiting_since >= SSE_STRAGGLER_SECONDS
        progressed = False
        for row in rows:
            if row.seq != after + 1 and not late:
                break  # a batch before this one is still on its way
            after, progressed = row.seq, True
            if row.kind != END_MARKER:
                last_sent = time.monotonic()
                yield _sse(row.kind, row.data, row.seq)
        if progressed:
            waiting_since = None
            continue  # there may be more than one page
        finished = states.is_terminal(job.status)
        # Everything the executor sent is in once its end marker is; a job that never ran has none.
        complete = (end is not None and after >= end) or job.launched_at is None or late
        if finished and not rows and complete:
            yield _sse("status", render.job_json(job))
            return
        if (rows or finished) and waiting_since is None:
            waiting_since = time.monotonic()
        if time.monotonic() - last_sent >= SSE_HEARTBEAT_SECONDS:
            last_sent = time.monotonic()
            yield b": keep-alive\n\n"
        services.wait_for_news(SSE_POLL_SECONDS)


def events(request: Request, job_id: str) -> Response:
    services.get_job(require_principal(request), job_id)  # authorised like GET /jobs/{id}
    return Response(_event_stream(job_id, _last_event_id(request)), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def cancel(request: Request, job_id: str) -> Response:
    services.cancel(require_principal(request), job_id)
    return no_content()


# -- /api/v1/execution: Flow-Like's run vocabulary -----------------------------

_RUN_STATUS = {
    JobStatus.QUEUED: "Pending",
    JobStatus.RUNNING: "Running",
    JobStatus.COMPLETED: "Completed",
    JobStatus.FAILED: "Failed",
    JobStatus.CANCELLED: "Cancelled",
}


def run_json(job: Job) -> dict[str, Any]:
    body = {
        "run_id": job.id,
        "app_id": job.app_id,
        "board_id": job.board_id,
        "version": job.version,
        "node_id": job.node_id,
        "status": _RUN_STATUS[job.status],
        "mode": job.mode,
        "progress": job.progress,
        "error": job.error if job.status in (JobStatus.FAILED, JobStatus.CANCELLED) else None,
        "steps": job.steps,
        "created_at": iso_time(job.created_at),
        "started_at": iso_time(job.started_at),
        "completed_at": iso_time(job.completed_at),
    }
    if job.status == JobStatus.COMPLETED:
        body["result"] = render.load_result(job)
    return body


def execution_run(request: Request) -> Response:
    return _submit(request, run_json, "/api/v1/execution/{id}")


def execution_get(request: Request, run_id: str) -> Response:
    job = services.get_job(require_principal(request), run_id)
    return json_response(run_json(job), headers={"Cache-Control": "no-store"})
