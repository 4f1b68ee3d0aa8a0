"""The dispatcher: turns events into job launches, cancellations and status writes.

A thin router: for each event it loads and locks the job, asks `lifecycle` what the
event changes and writes that with `states.apply`, in the same transaction that records
the event as processed (source + id), so redelivered events are no-ops (a backend that
records its runners' starts itself, the local one, dedups job.submitted by that record). Errors are
classified for the broker: `PermanentEventError` → 4xx (not retried; dead-lettered),
`TransientEventError` → 5xx (retried). Dead letters: `dead_letters`; the periodic
repairs the PingSources ask for: `repairs`.
"""

from __future__ import annotations

import logging

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from boardrun.db import read_scope, session_scope, utcnow
from boardrun.eventing import catalog, outbox
from boardrun.eventing.cloudevents_adapter import Event
from boardrun.jobs import lifecycle, repairs, signing, states
from boardrun.jobs.backends import get_backend
from boardrun.jobs.backends.base import PermanentBackendError, RunnerStatus, TransientBackendError
from boardrun.jobs.launches import launch_spec, record_launch
from boardrun.jobs.models import Job, ProcessedEvent, locked_job
from boardrun.jobs.outcomes import apply_outcome, apply_runner_status, result_ref_problem, stream_batch_problem
from boardrun.jobs.services import add_job_events, wake_waiters

log = logging.getLogger(__name__)


class PermanentEventError(Exception):
    """Retrying this event cannot help (malformed, forged, unknown type)."""


class TransientEventError(Exception):
    """Try again later (backend or database unavailable)."""


def already_processed(session: Session, event: Event, source: str | None = None) -> bool:
    return session.get(ProcessedEvent, (source or event.source, event.id)) is not None


def mark_processed(session: Session, event: Event, source: str | None = None) -> None:
    """Record the event as acted on; one recorded before raises IntegrityError (a duplicate)."""
    session.connection().execute(
        insert(ProcessedEvent.__table__).values(source=source or event.source, event_id=event.id, type=event.type))


def handle(event: Event) -> str:
    """Act on one event; returns a short description of what was done."""
    if event.type == catalog.PING:
        return _handle_ping(event)  # harmless to forge: the relay and reconcile are idempotent
    if event.type.startswith(catalog.APISERVER_PREFIX):
        return _handle_apiserver(event)
    if event.type not in catalog.OUR_TYPES:
        raise PermanentEventError(f"the dispatcher does not consume {event.type}")
    problems = catalog.data_problems(event.type, event.data)
    if problems:
        raise PermanentEventError(f"invalid {event.type} data: {problems}")
    check_signature(event)
    try:
        if event.type == catalog.JOB_SUBMITTED:
            return _launch(event)
        if event.type == catalog.JOB_CANCEL_REQUESTED:
            return _cancel(event)
        return _executor_report(event)
    except IntegrityError:
        return "duplicate"  # a concurrent delivery of the same event recorded it first


def check_signature(event: Event) -> None:
    """Our job events come from the jobs function (commands) or the job's executor
    (reports), each signed with the job's token; anything else is refused."""
    job_id = event.extensions.get(catalog.EXT_JOB_ID) or ""
    expected_source = catalog.executor_source(job_id) if event.type in catalog.EXECUTOR_TYPES else catalog.JOBS_SOURCE
    if event.data.get("job_id") != job_id or event.source != expected_source:
        raise PermanentEventError("the event's job id, jobid extension and source disagree")
    if not signing.verify(event, job_id, event.extensions.get(catalog.EXT_SIGNATURE)):
        raise PermanentEventError(f"{event.type} for job {job_id} has no valid signature: refused")


def _launch(event: Event) -> str:
    job_id = event.data["job_id"]
    backend = get_backend()
    with read_scope() as session:
        if already_processed(session, event):
            return "duplicate"
        job = session.get(Job, job_id)
    if job is not None and backend.queues_launches and job.launched_at is not None:
        return "duplicate"  # such a backend records the start itself, and that record is the dedup
    if job is None or not lifecycle.may_launch(job):
        with session_scope() as session:
            mark_processed(session, event)
        return "no such job (its app was deleted)" if job is None else f"not launched: job is {job.status}"
    try:
        backend.launch(launch_spec(job))
    except TransientBackendError as exc:
        raise TransientEventError(str(exc)) from exc
    except PermanentBackendError as exc:
        with session_scope() as session:
            job = locked_job(session, job_id)
            if job is not None:
                states.apply(job, lifecycle.launch_failed(job, str(exc)))
            mark_processed(session, event)
        return "launch failed"
    if backend.queues_launches:
        # It records the start (launched_at) when the runner starts, which answers a later
        # redelivery above; until then the backend itself knows the job and starts it once.
        return "launched"
    with session_scope() as session:
        job = locked_job(session, job_id)
        if job is not None and job.launched_at is None:
            record_launch(job)
        mark_processed(session, event)
    return "launched"


def _cancel(event: Event) -> str:
    job_id = event.data["job_id"]
    with read_scope() as session:
        if already_processed(session, event):
            return "duplicate"
    try:
        get_backend().cancel(job_id)
    except TransientBackendError as exc:
        raise TransientEventError(str(exc)) from exc
    except PermanentBackendError as exc:
        log.error("cancel of job %s refused by the backend: %s", job_id, exc)
    with session_scope() as session:
        job = locked_job(session, job_id)
        if job is not None:
            states.apply(job, lifecycle.cancelled(job))
        mark_processed(session, event)
    return "cancelled"


def _store_events(event: Event) -> str:
    """A batch of stream events. The job row is not locked: status writes go on."""
    job_id = event.extensions[catalog.EXT_JOB_ID]
    with session_scope() as session:
        if session.get(Job, job_id) is None:
            mark_processed(session, event)
            return "no such job"
        added = add_job_events(session, job_id, event.data)
        mark_processed(session, event)
    return f"stored {added} events"


def _executor_report(event: Event) -> str:
    """A report is not looked up first: a redelivered one fails on the processed row's key at
    commit, which rolls back whatever it wrote (answered "duplicate" by `handle`)."""
    if event.type == catalog.JOB_EVENTS:
        return _store_events(event)
    job_id = event.extensions[catalog.EXT_JOB_ID]
    data = event.data
    problem = stream_batch_problem(job_id, data)
    if event.type == catalog.JOB_COMPLETED:
        problem = problem or result_ref_problem(job_id, data.get("result_ref"))
    if problem:
        raise PermanentEventError(problem)
    with session_scope() as session:
        job = locked_job(session, job_id)
        if job is None:
            mark_processed(session, event)
            return "no such job"
        at = lifecycle.reported_at(event.time, launched_at=job.launched_at, now=utcnow())
        if event.type == catalog.JOB_STARTED:
            states.apply(job, lifecycle.started(job, data, now=at))
        elif event.type == catalog.JOB_PROGRESS:
            states.apply(job, lifecycle.progressed(job, data))
        else:
            apply_outcome(job, event.type, data, at=at)
        mark_processed(session, event)
        return job.status


def on_runner_start(job_id: str) -> bool:
    """The local backend is about to start the job's executor (at once, or when a slot
    frees): record it as launched, unless it was cancelled or finished meanwhile. Until
    then it is still unlaunched in the database, so a restart launches it again."""
    with session_scope() as session:
        job = locked_job(session, job_id)
        if job is None or not lifecycle.may_launch(job):
            return False
        if job.launched_at is None:
            record_launch(job)
        return True


def on_runner_exit(status: RunnerStatus) -> None:
    """The local backend saw an executor process end. One whose outcome report went out
    leaves the status write to that report, still on its way through the broker (were it
    lost, the reconcile applies the stored outcome); any other end is applied here at once."""
    if status.reported:
        return
    with read_scope() as session:  # usually its report has finished the job already: nothing to write
        current = session.scalar(select(Job.status).where(Job.id == status.job_id))
        finished = current is None or states.is_terminal(current)
    if not finished:
        with session_scope() as session:
            job = locked_job(session, status.job_id)
            if job is not None:
                apply_runner_status(job, status, missing_grace=0)
    wake_waiters()


def _handle_apiserver(event: Event) -> str:
    """A Kubernetes Job changed (ApiServerSource): what the executor cannot report
    itself (OOM kill, deadline, image pull failure, eviction) becomes a status write."""
    from boardrun.jobs.backends.k8s_objects import job_id_of

    job_id = job_id_of(event.data)
    if job_id is None:
        return "not one of our Jobs"
    # The event only says which Job changed (anyone in the cluster could post one):
    # what the Job and its pods really are now comes from the backend.
    try:
        status = get_backend().status(job_id)
    except TransientBackendError as exc:
        raise TransientEventError(str(exc)) from exc
    with session_scope() as session:
        job = locked_job(session, job_id)
        # A vanished Job's executor may still be reporting: apply_runner_status gives it a grace period.
        changed = job is not None and apply_runner_status(job, status)
    return "updated" if changed else "no change"


def _handle_ping(event: Event) -> str:
    task = event.data.get("task") if isinstance(event.data, dict) else None
    if task == "outbox-relay":
        return f"relayed {outbox.relay_outbox()}"
    if task == "reconcile":
        try:
            return f"reconciled {repairs.reconcile()}"
        except TransientBackendError as exc:  # the backend cannot list its runners: retried
            raise TransientEventError(str(exc)) from exc
    raise PermanentEventError(f"unknown ping task {task!r}")
