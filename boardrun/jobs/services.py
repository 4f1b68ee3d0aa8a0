"""Submitting, reading and cancelling jobs.

`POST /jobs/submit` and `POST /api/v1/execution/run` both call `submit`; their
views differ only in how they render the job (`render`).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from boardrun import cursors, metrics
from boardrun.accounts.tokens import Principal
from boardrun.apps.access import member_role, require_app_permission
from boardrun.apps.boards import resolve_board
from boardrun.apps.models import Role
from boardrun.apps.permissions import Permission
from boardrun.config import get_settings
from boardrun.db import insert_new, insert_object, read_scope, session_scope, utcnow
from boardrun.errors import Conflict, NotFound, Unprocessable
from boardrun.eventing import catalog, outbox
from boardrun.eventing.cloudevents_adapter import Event
from boardrun.eventing.outbox import OutboxEvent
from boardrun.ids import new_id
from boardrun.jobs import lifecycle, states
from boardrun.jobs.models import Job, JobEvent
from boardrun.jobs.prepared import prepared_board, start_node
from boardrun.jobs.signing import data_digest, job_token, sign
from boardrun.jobs.states import JobStatus
from boardrun.storage import StorageNotFound, check_key, get_storage

def deadline_limits() -> tuple[int, int]:
    """(default, maximum) run time of a job in seconds."""
    jobs = get_settings().jobs
    return jobs.default_deadline, jobs.max_deadline


def sync_wait_seconds() -> float:
    """How long a sync-mode request waits before answering 202 (below Knative's timeout)."""
    return get_settings().jobs.sync_wait


# Idempotency keys of jobs started by events begin with this; clients may not use it.
TRIGGER_KEY_PREFIX = "trigger:"


def job_key(job_id: str, name: str) -> str:
    return f"jobs/{job_id}/{name}"


def owns_key(job_id: str, key: str) -> bool:
    """Whether `key` lies under the job's own storage prefix."""
    try:
        check_key(key)  # refuses '..' and other ways out of the prefix
    except ValueError:
        return False
    return key.startswith(job_key(job_id, ""))


@dataclass(frozen=True)
class Submission:
    job: Job
    replayed: bool  # True: an Idempotency-Key replay, no new job


def _visible_job(session: Session, job_id: str, principal: Principal, needed: Permission, *, lock: bool = False) -> Job:
    query = select(Job).where(Job.id == job_id)
    if lock:
        query = query.with_for_update()
    job = session.scalar(query)
    if job is None:
        raise NotFound(f"no job {job_id}", code="job_not_found")
    try:
        require_app_permission(session, job.app_id, principal, needed)
    except NotFound:
        raise NotFound(f"no job {job_id}", code="job_not_found") from None
    return job


def _replay(session: Session, user_id: str, key: str, digest: str | None) -> Job | None:
    """The job an earlier request with this key started; `digest` None: any request body."""
    job = session.scalar(select(Job).where(Job.created_by == user_id, Job.idempotency_key == key))
    if job is not None and digest is not None and job.request_hash != digest:
        raise Conflict("this Idempotency-Key was used with a different request body", code="idempotency_key_reused")
    return job


def executing_user(user_id: str, role: Role | None) -> dict[str, Any]:
    """The submitting user as the run sees them (Utils/User nodes), in Flow-Like's
    UserExecutionContext shape: their id and their role on the app at submission time."""
    return {
        "sub": user_id,
        "role": None if role is None else {
            "id": role.id, "name": role.name, "permissions": int(role.permissions),
            "attributes": list(role.attributes or []), "customAttributes": {},
        },
        "isTechnicalUser": False,  # Boardrun has no API keys yet: every caller is a person
        "keyId": None,
    }


def _deadline(requested: int | None) -> int:
    default_deadline, max_deadline = deadline_limits()
    deadline = default_deadline if requested is None else requested
    if deadline > max_deadline:
        raise Unprocessable(
            f"deadline_seconds is at most {max_deadline}",
            details=[{"field": "deadline_seconds", "message": f"must be at most {max_deadline}"}],
        )
    return deadline


def submit(principal: Principal, body: dict[str, Any], idempotency_key: str | None) -> Submission:
    """POST /jobs/submit: a member with ExecuteBoards starts a board."""
    digest = data_digest(body)
    deadline = _deadline(body.get("deadline_seconds"))
    with read_scope() as session:
        access = require_app_permission(session, body["app_id"], principal, Permission.ExecuteBoards)
        if idempotency_key:
            existing = _replay(session, principal.user_id, idempotency_key, digest)
            if existing is not None:
                return Submission(existing, replayed=True)
        resolved = resolve_board(session, body["app_id"], body["board_id"], body.get("version", "latest"))
        user = executing_user(principal.user_id, access.role)
    return _create(resolved, body, deadline, created_by=principal.user_id, idempotency_key=idempotency_key,
                   digest=digest, trigger=None, user=user)


def start_triggered(body: dict[str, Any], *, created_by: str, trigger: dict[str, Any], dedupe_key: str | None) -> Submission:
    """A job started by an app's event (webhook, schedule, CloudEvent, invoke) on behalf of the
    event's author. `dedupe_key` makes a redelivery (same delivery id, same cron slot, same
    CloudEvent) return the job it started the first time instead of starting another."""
    with read_scope() as session:
        if dedupe_key:
            existing = _replay(session, created_by, dedupe_key, None)
            if existing is not None:
                return Submission(existing, replayed=True)
        resolved = resolve_board(session, body["app_id"], body["board_id"], body.get("version", "latest"))
        user = executing_user(created_by, member_role(session, body["app_id"], created_by))
    return _create(resolved, body, _deadline(None), created_by=created_by, idempotency_key=dedupe_key,
                   digest=None, trigger=trigger, user=user)


def _create(resolved: Any, body: dict[str, Any], deadline: int, *, created_by: str, idempotency_key: str | None,
            digest: str | None, trigger: dict[str, Any] | None, user: dict[str, Any]) -> Submission:
    """Write the job's spec to storage, then the job row and its job.submitted event in one
    transaction (the outbox), and publish the event."""
    board = prepared_board(resolved)  # a frozen version is read and validated once, then cached
    node_id = start_node(board, body.get("node_id"))
    job = _new_job(resolved, body, node_id, deadline, created_by=created_by, idempotency_key=idempotency_key,
                   digest=digest, trigger=trigger)
    # Storage first: a job row must never point at a spec that is not there.
    spec_size = _store_spec(job, resolved, board.doc, body, user)
    try:
        row = _insert(job, _submitted_event(job, spec_size))
    except IntegrityError:
        existing = _race_winner(job) if idempotency_key else None
        if existing is None:
            raise
        return Submission(existing, replayed=True)
    metrics.job_submitted(job.mode)
    outbox.publish(row)
    return Submission(job, replayed=False)


def _new_job(resolved: Any, body: dict[str, Any], node_id: str, deadline: int, *, created_by: str,
             idempotency_key: str | None, digest: str | None, trigger: dict[str, Any] | None) -> Job:
    job_id = new_id("job")
    now = utcnow()
    return Job(
        id=job_id,
        app_id=resolved.app_id,
        board_id=resolved.board_id,
        version=resolved.version,
        node_id=node_id,
        mode=body.get("mode", "async"),
        status=JobStatus.QUEUED,
        attempt=1,
        created_by=created_by,
        idempotency_key=idempotency_key,
        request_hash=digest,
        spec_key=job_key(job_id, "spec.json"),
        deadline_seconds=deadline,
        trigger=trigger,
        event_id=trigger.get("event_id") if trigger else None,
        created_at=now,
        updated_at=now,
    )


def _store_spec(job: Job, resolved: Any, doc: dict | None, body: dict[str, Any], user: dict[str, Any]) -> int:
    """Store what the executor reads: the job spec, and a snapshot of a draft board.
    Returns the spec's size."""
    storage = get_storage()
    board_key = resolved.storage_key
    if resolved.version == "draft":  # the working copy may change: run a snapshot of it
        board_key = job_key(job.id, "board.json")
        storage.put(board_key, json.dumps(doc).encode(), "application/json")
    spec = {
        "job_id": job.id,
        "app_id": job.app_id,
        "board_id": job.board_id,
        "version": job.version,
        "board_key": board_key,
        "node_id": job.node_id,
        "payload": body.get("payload"),
        "variables": body.get("variables") or {},
        "deadline_seconds": job.deadline_seconds,
        "user": user,
    }
    spec_bytes = json.dumps(spec).encode()
    storage.put(job.spec_key, spec_bytes, "application/json")
    return len(spec_bytes)


def _submitted_event(job: Job, spec_size: int) -> Event:
    return Event(
        type=catalog.JOB_SUBMITTED,
        source=catalog.JOBS_SOURCE,
        subject=job.id,
        data={
            "job_id": job.id,
            "app_id": job.app_id,
            "board_id": job.board_id,
            "version": job.version,
            "attempt": job.attempt,
            "spec": {"key": job.spec_key, "size_bytes": spec_size},
            "deadline_seconds": job.deadline_seconds,
        },
        extensions={catalog.EXT_JOB_ID: job.id, catalog.EXT_APP_ID: job.app_id},
    )


def _insert(job: Job, event: Event) -> OutboxEvent:
    """The job row and its job.submitted event, in one transaction."""
    with session_scope() as session:
        insert_object(session, job)
        return _add_command(session, event)


def _race_winner(job: Job) -> Job | None:
    """The job of a concurrent request with the same Idempotency-Key that was inserted
    first (this one's spec is removed again)."""
    with session_scope() as session:
        existing = _replay(session, job.created_by, job.idempotency_key, job.request_hash)
    get_storage().delete(job.spec_key)
    return existing


def _add_command(session: Session, event: Event) -> OutboxEvent:
    """A command about a job into the outbox, signed with the job's token like executor
    reports: the dispatcher acts on no unsigned job event, whoever can reach it."""
    job_id = event.extensions[catalog.EXT_JOB_ID]
    return outbox.add(session, event.with_extensions(**{catalog.EXT_SIGNATURE: sign(event, job_id, job_token(job_id))}))


def get_job(principal: Principal, job_id: str) -> Job:
    with read_scope() as session:
        return _visible_job(session, job_id, principal, Permission.ReadLogs)


# Status writes made in this process wake sync waiters at once (embedded mode, where
# the dispatcher runs beside the jobs function); across processes they poll.
_status_written = threading.Condition()


def wake_waiters() -> None:
    with _status_written:
        _status_written.notify_all()


def list_jobs(principal: Principal, app_id: str, *, status: str | None, limit: int, cursor: str | None,
              event_id: str | None = None) -> tuple[list[Job], str | None]:
    """An app's jobs (or those one of its events started), newest first, one keyset page at a
    time (a member with ReadLogs)."""
    with read_scope() as session:
        require_app_permission(session, app_id, principal, Permission.ReadLogs)
        query = select(Job).where(Job.app_id == app_id)
        if status is not None:
            query = query.where(Job.status == status)
        if event_id is not None:
            query = query.where(Job.event_id == event_id)
        scope = {"app": app_id, "status": status, "event": event_id}
        if cursor:
            created_at, job_id = cursors.decode(cursor, "jobs", scope, (datetime, str))
            query = query.where(or_(Job.created_at < created_at, and_(Job.created_at == created_at, Job.id < job_id)))
        jobs = session.scalars(query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit + 1)).all()
    more = len(jobs) > limit
    jobs = list(jobs[:limit])
    return jobs, (cursors.encode("jobs", scope, (jobs[-1].created_at, jobs[-1].id)) if more else None)


def job_log(principal: Principal, job_id: str) -> tuple[Job, list[dict[str, Any]]]:
    """The log lines the executor stored (written when the run ends: [] before)."""
    job = get_job(principal, job_id)
    try:
        raw = get_storage().get(job_key(job_id, "log.jsonl"))
    except StorageNotFound:
        return job, []
    return job, [json.loads(line) for line in raw.decode().splitlines() if line.strip()]


def job_events_after(job_id: str, after: int, limit: int = 500) -> tuple[Job, list[JobEvent], int | None]:
    """The job as stored now, its stream events numbered above ``after`` in order, and the number
    of the executor's end marker if it has arrived."""
    with read_scope() as session:
        job = session.get(Job, job_id)
        if job is None:  # deleted with its app while someone was watching
            raise NotFound(f"no job {job_id}", code="job_not_found")
        rows = session.scalars(select(JobEvent).where(JobEvent.job_id == job_id, JobEvent.seq > after)
                               .order_by(JobEvent.seq).limit(limit)).all()
        end = session.scalar(select(JobEvent.seq).where(JobEvent.job_id == job_id, JobEvent.kind == "end"))
        return job, list(rows), end


def add_job_events(session: Session, job_id: str, batch: dict[str, Any]) -> int:
    """Store a batch of the job's stream events (a job.events event's data) under the
    executor's numbers, so a redelivered or overlapping batch adds nothing twice; how many were new."""
    rows = [{"job_id": job_id, "seq": seq, "kind": item["kind"], "data": item}
            for seq, item in enumerate(batch["events"], batch["first_seq"])]
    return insert_new(session, JobEvent, rows)


def wait_for_news(timeout: float) -> None:
    """Sleep until a status or event write in this process, or ``timeout`` (other processes: polled)."""
    with _status_written:
        _status_written.wait(timeout)


def wait_for_terminal(job_id: str, timeout: float) -> Job | None:
    """Wait until the job is terminal (returned) or the timeout passes (None)."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        with read_scope() as session:  # the status alone until it is final (every status write wakes this)
            status = session.scalar(select(Job.status).where(Job.id == job_id))
            if status is not None and states.is_terminal(status):
                return session.get(Job, job_id)
        if time.monotonic() >= deadline:
            return None
        with _status_written:
            _status_written.wait(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 1.5, 0.05)  # a sync answer should trail completion by little


def cancel(principal: Principal, job_id: str) -> None:
    """Ask for cancellation. Harmless to repeat; a completed or failed job is 409."""
    with session_scope() as session:
        job = _visible_job(session, job_id, principal, Permission.ExecuteBoards, lock=True)
        if job.status in (JobStatus.COMPLETED, JobStatus.FAILED):
            raise Conflict(f"job {job_id} already {job.status}", code="job_finished")
        if job.status == JobStatus.CANCELLED or job.cancel_requested_at is not None:
            return
        job.cancel_requested_at = utcnow()
        if job.launched_at is None:
            # Nothing runs yet: the job is cancelled now, and the dispatcher will not launch it.
            states.apply(job, lifecycle.cancelled(job, "cancelled before it started"))
        event = Event(
            type=catalog.JOB_CANCEL_REQUESTED,
            source=catalog.JOBS_SOURCE,
            subject=job_id,
            data={"job_id": job_id, "requested_by": principal.user_id},
            extensions={catalog.EXT_JOB_ID: job_id, catalog.EXT_APP_ID: job.app_id},
        )
        row = _add_command(session, event)
    outbox.publish(row)
