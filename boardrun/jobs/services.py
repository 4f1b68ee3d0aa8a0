"""Submitting, reading and cancelling jobs; the outbox and its relay.

`POST /jobs/submit` and `POST /api/v1/execution/run` both call `submit`; their
views differ only in how they render the job.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from boardrun import metrics
from boardrun.accounts.tokens import Principal
from boardrun.apps.access import member_role, require_app_permission
from boardrun.apps.boards import resolve_board
from boardrun.apps.permissions import Permission
from boardrun.config import env_int
from boardrun.db import session_scope, utcnow
from boardrun.errors import Conflict, NotFound, Unprocessable
from boardrun.eventing import catalog
from boardrun.eventing.cloudevents_adapter import Event
from boardrun.eventing.publisher import PublishError, get_publisher
from boardrun.executor.run import max_result_bytes
from boardrun.ids import new_id
from boardrun.jobs import states
from boardrun.jobs.models import Job, JobEvent, OutboxEvent
from boardrun.jobs.signing import data_digest, job_token, sign
from boardrun.storage import StorageNotFound, check_key, get_storage
from boardrun.web import iso_time

log = logging.getLogger(__name__)

def deadline_limits() -> tuple[int, int]:
    """(default, maximum) run time of a job in seconds."""
    return env_int("JOB_DEFAULT_DEADLINE_SECONDS", 600), env_int("JOB_MAX_DEADLINE_SECONDS", 3600)


def sync_wait_seconds() -> float:
    """How long a sync-mode request waits before answering 202 (below Knative's timeout)."""
    return float(env_int("SYNC_WAIT_SECONDS", 30))


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


def _validated_start(doc: dict, node_id: str | None) -> str:
    """The node the run starts at, after the engine's validation of the whole board."""
    from boardrun.engine import BoardFormatError, default_start_node, load_board, validate_board

    try:
        board = load_board(doc)
    except BoardFormatError as exc:
        raise Unprocessable(f"the board cannot be read: {exc}", code="invalid_board") from None
    problems = validate_board(board)
    if problems:
        raise Unprocessable(
            f"the board has {len(problems)} problem(s); fix them before running it",
            code="invalid_board",
            details=[p.to_dict() for p in problems],
        )
    if node_id is None:
        node_id = default_start_node(board)
        if node_id is None:
            raise Unprocessable(
                "the board has no single start node; name one with node_id",
                details=[{"field": "node_id", "message": "required for this board"}],
            )
    elif node_id not in board.nodes:
        raise Unprocessable(f"the board has no node {node_id}", details=[{"field": "node_id", "message": "no such node"}])
    return node_id


def executing_user(session: Session, app_id: str, user_id: str) -> dict[str, Any]:
    """The submitting user as the run sees them (Utils/User nodes), in Flow-Like's
    UserExecutionContext shape: their id and their role on the app at submission time."""
    role = member_role(session, app_id, user_id)
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
    with session_scope() as session:
        require_app_permission(session, body["app_id"], principal, Permission.ExecuteBoards)
        if idempotency_key:
            existing = _replay(session, principal.user_id, idempotency_key, digest)
            if existing is not None:
                return Submission(existing, replayed=True)
        resolved = resolve_board(session, body["app_id"], body["board_id"], body.get("version", "latest"))
        user = executing_user(session, body["app_id"], principal.user_id)
    return _create(resolved, body, deadline, created_by=principal.user_id, idempotency_key=idempotency_key,
                   digest=digest, trigger=None, user=user)


def start_triggered(body: dict[str, Any], *, created_by: str, trigger: dict[str, Any], dedupe_key: str | None) -> Submission:
    """A job started by an app's event (webhook, schedule, CloudEvent, invoke) on behalf of the
    event's author. `dedupe_key` makes a redelivery (same delivery id, same cron slot, same
    CloudEvent) return the job it started the first time instead of starting another."""
    with session_scope() as session:
        if dedupe_key:
            existing = _replay(session, created_by, dedupe_key, None)
            if existing is not None:
                return Submission(existing, replayed=True)
        resolved = resolve_board(session, body["app_id"], body["board_id"], body.get("version", "latest"))
        user = executing_user(session, body["app_id"], created_by)
    return _create(resolved, body, _deadline(None), created_by=created_by, idempotency_key=dedupe_key,
                   digest=None, trigger=trigger, user=user)


def _create(resolved: Any, body: dict[str, Any], deadline: int, *, created_by: str, idempotency_key: str | None,
            digest: str | None, trigger: dict[str, Any] | None, user: dict[str, Any]) -> Submission:
    """Write the job's spec to storage, then the job row and its job.submitted event in one
    transaction (the outbox), and publish the event."""
    doc = resolved.load()
    node_id = _validated_start(doc, body.get("node_id"))

    job_id = new_id("job")
    storage = get_storage()
    board_key = resolved.storage_key
    if resolved.version == "draft":  # the working copy may change: run a snapshot of it
        board_key = job_key(job_id, "board.json")
        storage.put(board_key, json.dumps(doc).encode(), "application/json")
    spec = {
        "job_id": job_id,
        "app_id": resolved.app_id,
        "board_id": resolved.board_id,
        "version": resolved.version,
        "board_key": board_key,
        "node_id": node_id,
        "payload": body.get("payload"),
        "variables": body.get("variables") or {},
        "deadline_seconds": deadline,
        "user": user,
    }
    spec_bytes = json.dumps(spec).encode()
    spec_key = job_key(job_id, "spec.json")
    # Storage first: a job row must never point at a spec that is not there.
    storage.put(spec_key, spec_bytes, "application/json")

    event = Event(
        type=catalog.JOB_SUBMITTED,
        source=catalog.JOBS_SOURCE,
        subject=job_id,
        data={
            "job_id": job_id,
            "app_id": resolved.app_id,
            "board_id": resolved.board_id,
            "version": resolved.version,
            "attempt": 1,
            "spec": {"key": spec_key, "size_bytes": len(spec_bytes)},
            "deadline_seconds": deadline,
        },
        extensions={catalog.EXT_JOB_ID: job_id, catalog.EXT_APP_ID: resolved.app_id},
    )
    job = Job(
        id=job_id,
        app_id=resolved.app_id,
        board_id=resolved.board_id,
        version=resolved.version,
        node_id=node_id,
        mode=body.get("mode", "async"),
        status=states.QUEUED,
        attempt=1,
        created_by=created_by,
        idempotency_key=idempotency_key,
        request_hash=digest,
        spec_key=spec_key,
        deadline_seconds=deadline,
        trigger=trigger,
        event_id=trigger.get("event_id") if trigger else None,
    )
    try:
        with session_scope() as session:
            session.add(job)
            outbox = _add_outbox(session, event)  # the same transaction as the job row
    except IntegrityError:
        if not idempotency_key:
            raise
        with session_scope() as session:  # a concurrent request with the same key won
            existing = _replay(session, created_by, idempotency_key, digest)
        storage.delete(spec_key)
        if existing is None:
            raise
        return Submission(existing, replayed=True)
    metrics.job_submitted(job.mode)
    _send(outbox.id, _event_of(outbox))
    return Submission(job, replayed=False)


def get_job(principal: Principal, job_id: str) -> Job:
    with session_scope() as session:
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
    with session_scope() as session:
        require_app_permission(session, app_id, principal, Permission.ReadLogs)
        query = select(Job).where(Job.app_id == app_id)
        if status is not None:
            query = query.where(Job.status == status)
        if event_id is not None:
            query = query.where(Job.event_id == event_id)
        if cursor is not None:
            created_at, job_id = _decode_cursor(cursor)
            query = query.where(or_(Job.created_at < created_at, and_(Job.created_at == created_at, Job.id < job_id)))
        jobs = session.scalars(query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit + 1)).all()
    more = len(jobs) > limit
    jobs = list(jobs[:limit])
    return jobs, (_encode_cursor(jobs[-1]) if more else None)


def _encode_cursor(job: Job) -> str:
    # Full precision, not the rendered milliseconds: the keyset compares it.
    raw = json.dumps([job.created_at.isoformat(), job.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        stamp, job_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        created_at = datetime.fromisoformat(stamp)
        if created_at.tzinfo is None or not isinstance(job_id, str):
            raise ValueError(cursor)
        return created_at, job_id
    except (ValueError, TypeError, UnicodeDecodeError, RecursionError):  # RecursionError: a deeply nested one
        raise Unprocessable("cursor is not valid", details=[{"field": "cursor", "message": "not a cursor from this list"}]) from None


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
    with session_scope() as session:
        job = session.get(Job, job_id)
        if job is None:  # deleted with its app while someone was watching
            raise NotFound(f"no job {job_id}", code="job_not_found")
        rows = session.scalars(select(JobEvent).where(JobEvent.job_id == job_id, JobEvent.seq > after)
                               .order_by(JobEvent.seq).limit(limit)).all()
        end = session.scalar(select(JobEvent.seq).where(JobEvent.job_id == job_id, JobEvent.kind == "end"))
        return job, list(rows), end


def wait_for_news(timeout: float) -> None:
    """Sleep until a status or event write in this process, or ``timeout`` (other processes: polled)."""
    with _status_written:
        _status_written.wait(timeout)


def wait_for_terminal(job_id: str, timeout: float) -> Job | None:
    """Wait until the job is terminal (returned) or the timeout passes (None)."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        with session_scope() as session:
            job = session.get(Job, job_id)
            if job is not None and states.is_terminal(job.status):
                return job
        if time.monotonic() >= deadline:
            return None
        with _status_written:
            _status_written.wait(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 1.5, 0.05)  # a sync answer should trail completion by little


def cancel(principal: Principal, job_id: str) -> None:
    """Ask for cancellation. Harmless to repeat; a completed or failed job is 409."""
    with session_scope() as session:
        job = _visible_job(session, job_id, principal, Permission.ExecuteBoards, lock=True)
        if job.status in (states.COMPLETED, states.FAILED):
            raise Conflict(f"job {job_id} already {job.status}", code="job_finished")
        if job.status == states.CANCELLED or job.cancel_requested_at is not None:
            return
        job.cancel_requested_at = utcnow()
        if job.launched_at is None:
            # Nothing runs yet: the job is cancelled now, and the dispatcher will not launch it.
            states.transition(job, states.CANCELLED, error={"code": "cancelled", "message": "cancelled before it started"})
        event = Event(
            type=catalog.JOB_CANCEL_REQUESTED,
            source=catalog.JOBS_SOURCE,
            subject=job_id,
            data={"job_id": job_id, "requested_by": principal.user_id},
            extensions={catalog.EXT_JOB_ID: job_id, catalog.EXT_APP_ID: job.app_id},
        )
        outbox = _add_outbox(session, event)
    _send(outbox.id, _event_of(outbox))


# -- the outbox ---------------------------------------------------------------

CLAIM_SECONDS = 30


def _add_outbox(session: Session, event: Event) -> OutboxEvent:
    """The outbox row, claimed by the writer: it publishes right after the commit, and
    the relay takes the row only if that fails or the claim runs out. Commands are
    signed with their job's token, like executor reports: the dispatcher acts on no
    unsigned job event, whoever can reach it."""
    job_id = event.extensions[catalog.EXT_JOB_ID]
    event = event.with_extensions(**{catalog.EXT_SIGNATURE: sign(event, job_id, job_token(job_id))})
    row = OutboxEvent(
        event_id=event.id,
        type=event.type,
        source=event.source,
        subject=event.subject,
        data=event.data,
        extensions=event.extensions,
        claimed_until=utcnow() + timedelta(seconds=CLAIM_SECONDS),
        attempts=1,
    )
    session.add(row)
    session.flush()  # assigns row.id
    return row


def _event_of(row: OutboxEvent) -> Event:
    return Event(
        type=row.type,
        source=row.source,
        data=row.data,
        id=row.event_id,
        time=row.created_at.isoformat(),
        subject=row.subject,
        extensions=dict(row.extensions or {}),
    )


def _claim(session: Session, row_id: int) -> bool:
    """Take a row for publishing, so the immediate path and the relay never both send it."""
    now = utcnow()
    return bool(
        session.execute(
            update(OutboxEvent)
            .where(
                OutboxEvent.id == row_id,
                OutboxEvent.published_at.is_(None),
                or_(OutboxEvent.claimed_until.is_(None), OutboxEvent.claimed_until < now),
            )
            .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS), attempts=OutboxEvent.attempts + 1)
        ).rowcount
    )


def _send(row_id: int, event: Event) -> bool:
    """Publish a row we hold the claim of; on failure release it for the relay."""
    try:
        get_publisher().publish(event)
    except PublishError as exc:
        log.warning("event %s (%s) not published yet: %s", event.id, event.type, exc)
        with session_scope() as session:
            session.execute(
                update(OutboxEvent).where(OutboxEvent.id == row_id).values(claimed_until=None, last_error=str(exc)[:1000])
            )
        return False
    with session_scope() as session:
        session.execute(update(OutboxEvent).where(OutboxEvent.id == row_id).values(published_at=utcnow(), last_error=None))
    return True


def _publish_row(row_id: int) -> bool:
    with session_scope() as session:
        if not _claim(session, row_id):
            return False
        row = session.get(OutboxEvent, row_id)
        assert row is not None
        event = _event_of(row)
    return _send(row_id, event)


def relay_outbox(limit: int = 200) -> int:
    """Publish what is left in the outbox, oldest first; returns how many went out."""
    with session_scope() as session:
        ids = session.scalars(
            select(OutboxEvent.id).where(OutboxEvent.published_at.is_(None)).order_by(OutboxEvent.id).limit(limit)
        ).all()
    sent = 0
    for row_id in ids:
        if _publish_row(row_id):
            sent += 1
        else:
            break  # the broker is down (or another relay holds the row): the next tick goes on
    return sent


# -- rendering ----------------------------------------------------------------


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
        "error": job.error if job.status in (states.FAILED, states.CANCELLED) else None,
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
    if with_result and job.status == states.COMPLETED:
        body["result"] = load_result(job)
    return body
