"""The dispatcher: turns events into job launches, cancellations and status writes.

Every status write goes through `states.transition` on a locked job row, in the same
transaction that records the event as processed (source + id), so redelivered
events are no-ops. Errors are classified for the broker: `PermanentEventError` → 4xx
(not retried; dead-lettered), `TransientEventError` → 5xx (retried).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from boardrun import metrics
from boardrun.config import get_settings
from boardrun.db import session_scope, utcnow
from boardrun.eventing import catalog
from boardrun.eventing.cloudevents_adapter import Event
from boardrun.executor.run import max_result_bytes
from boardrun.jobs import signing, states
from boardrun.jobs.backends import get_backend
from boardrun.jobs.backends.base import (
    FAILED,
    MISSING,
    SUCCEEDED,
    LaunchSpec,
    PermanentBackendError,
    RunnerStatus,
    TransientBackendError,
)
from boardrun.jobs.models import DeadLetter, Job, JobEvent, ProcessedEvent
from boardrun.jobs.services import job_key, owns_key, relay_outbox, wake_waiters
from boardrun.storage import StorageError, StorageNotFound, get_storage

log = logging.getLogger(__name__)


class PermanentEventError(Exception):
    """Retrying this event cannot help (malformed, forged, unknown type)."""


class TransientEventError(Exception):
    """Try again later (backend or database unavailable)."""


def _already_processed(session: Session, event: Event, source: str | None = None) -> bool:
    return session.get(ProcessedEvent, (source or event.source, event.id)) is not None


def _mark_processed(session: Session, event: Event, source: str | None = None) -> None:
    session.add(ProcessedEvent(source=source or event.source, event_id=event.id, type=event.type))


def _locked_job(session: Session, job_id: str) -> Job | None:
    return session.scalar(select(Job).where(Job.id == job_id).with_for_update())


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
    _check_signature(event)
    try:
        with session_scope() as session:
            if _already_processed(session, event):
                return "duplicate"
        if event.type == catalog.JOB_SUBMITTED:
            return _launch(event)
        if event.type == catalog.JOB_CANCEL_REQUESTED:
            return _cancel(event)
        return _executor_report(event)
    except IntegrityError:
        return "duplicate"  # a concurrent delivery of the same event recorded it first


def _check_signature(event: Event) -> None:
    """Our job events come from the jobs function (commands) or the job's executor
    (reports), each signed with the job's token; anything else is refused."""
    job_id = event.extensions.get(catalog.EXT_JOB_ID) or ""
    expected_source = catalog.executor_source(job_id) if event.type in catalog.EXECUTOR_TYPES else catalog.JOBS_SOURCE
    if event.data.get("job_id") != job_id or event.source != expected_source:
        raise PermanentEventError("the event's job id, jobid extension and source disagree")
    if not signing.verify(event, job_id, event.extensions.get(catalog.EXT_SIGNATURE)):
        raise PermanentEventError(f"{event.type} for job {job_id} has no valid signature: refused")


def _launch(event: Event) -> str:
    data = event.data
    job_id = data["job_id"]
    with session_scope() as session:
        job = session.get(Job, job_id)
        if job is None:
            _mark_processed(session, event)
            return "no such job (its app was deleted)"
        if states.is_terminal(job.status) or job.cancel_requested_at is not None:
            _mark_processed(session, event)
            return f"not launched: job is {job.status}"
    spec = launch_spec(job_id, job.attempt, job.app_id, job.board_id, job.spec_key, job.deadline_seconds)
    backend = get_backend()
    try:
        backend.launch(spec)
    except TransientBackendError as exc:
        raise TransientEventError(str(exc)) from exc
    except PermanentBackendError as exc:
        with session_scope() as session:
            job = _locked_job(session, job_id)
            if job is not None:
                states.transition(job, states.FAILED, error={"code": states.LAUNCH_FAILED, "message": str(exc)})
            _mark_processed(session, event)
        return "launch failed"
    with session_scope() as session:
        job = _locked_job(session, job_id)
        if job is not None and job.launched_at is None and not backend.queues_launches:
            _record_launch(job)
        _mark_processed(session, event)
    return "launched"


def launch_spec(job_id: str, attempt: int, app_id: str, board_id: str, spec_key: str, deadline: int) -> LaunchSpec:
    settings = get_settings()
    env = {
        "JOB_ID": job_id,
        "JOB_SPEC_KEY": spec_key,
        "STORAGE_URL": settings.storage.url,
        "LOG_LEVEL": settings.server.log_level,
        **settings.jobs.executor_env(),
    }
    if settings.eventing.sink:
        env["K_SINK"] = settings.eventing.sink
    if settings.storage.s3_endpoint_url:
        env["S3_ENDPOINT_URL"] = settings.storage.s3_endpoint_url
    return LaunchSpec(
        job_id=job_id,
        attempt=attempt,
        app_id=app_id,
        board_id=board_id,
        deadline_seconds=deadline,
        env=env,
        secret_env={"JOB_TOKEN": signing.job_token(job_id)},
    )


def _cancel(event: Event) -> str:
    job_id = event.data["job_id"]
    try:
        get_backend().cancel(job_id)
    except TransientBackendError as exc:
        raise TransientEventError(str(exc)) from exc
    except PermanentBackendError as exc:
        log.error("cancel of job %s refused by the backend: %s", job_id, exc)
    with session_scope() as session:
        job = _locked_job(session, job_id)
        if job is not None:
            states.transition(job, states.CANCELLED, error={"code": "cancelled", "message": "cancelled by request"})
        _mark_processed(session, event)
    return "cancelled"


def _store_events(event: Event) -> str:
    """A batch of stream events: stored under the executor's numbers, so a redelivered or
    overlapping batch adds nothing twice. The job row is not locked: status writes go on."""
    job_id = event.extensions[catalog.EXT_JOB_ID]
    first = event.data["first_seq"]
    items = event.data["events"]
    with session_scope() as session:
        if session.get(Job, job_id) is None:
            _mark_processed(session, event)
            return "no such job"
        known = set(session.scalars(select(JobEvent.seq).where(
            JobEvent.job_id == job_id, JobEvent.seq >= first, JobEvent.seq < first + len(items))).all())
        for seq, item in enumerate(items, first):
            if seq not in known:
                session.add(JobEvent(job_id=job_id, seq=seq, kind=item["kind"], data=item))
        _mark_processed(session, event)
    return f"stored {len(items) - len(known)} events"


def _executor_report(event: Event) -> str:
    if event.type == catalog.JOB_EVENTS:
        return _store_events(event)
    job_id = event.extensions[catalog.EXT_JOB_ID]
    data = event.data
    if event.type == catalog.JOB_COMPLETED:
        problem = result_ref_problem(job_id, data.get("result_ref"))
        if problem:
            raise PermanentEventError(problem)
    with session_scope() as session:
        job = _locked_job(session, job_id)
        if job is None:
            _mark_processed(session, event)
            return "no such job"
        if event.type == catalog.JOB_STARTED:
            states.transition(job, states.RUNNING)
        elif event.type == catalog.JOB_PROGRESS:
            if not states.is_terminal(job.status):
                states.transition(job, states.RUNNING)
                job.progress = {k: data.get(k) for k in ("node_id", "node_name", "kind", "level", "message", "progress")}
                job.steps = data.get("steps", job.steps)
        else:
            apply_outcome(job, event.type, data)
        _mark_processed(session, event)
        return job.status


def apply_outcome(job: Job, event_type: str, data: dict[str, Any]) -> bool:
    """A terminal report (an event, or the outcome file the executor stored) → status."""
    changed = _apply_outcome(job, event_type, data)
    if changed:  # once per job, like the status write
        metrics.executor_usage(job, data.get("cpu_ms"), data.get("max_rss_bytes"))
    return changed


def _apply_outcome(job: Job, event_type: str, data: dict[str, Any]) -> bool:
    steps = data.get("steps")
    duration = data.get("duration_ms")
    if job.started_at is None and not states.is_terminal(job.status) and isinstance(duration, (int, float)):
        # Its 'started' report is late (events may arrive out of order) or lost: the run's
        # own duration says when it began.
        job.started_at = utcnow() - timedelta(milliseconds=duration)
    if event_type == catalog.JOB_COMPLETED:
        ref = data.get("result_ref")
        if ref and ref["size_bytes"] > max_result_bytes():
            # The executor enforces the cap; one started with another cap is held to ours.
            message = f"the result is {ref['size_bytes']} bytes; the limit (JOB_MAX_RESULT_BYTES) is {max_result_bytes()}"
            return states.transition(job, states.FAILED, error={"code": states.RESULT_TOO_LARGE, "message": message}, steps=steps)
        return states.transition(
            job, states.COMPLETED, result=data.get("result"), result_ref=ref["key"] if ref else None, steps=steps
        )
    if event_type == catalog.JOB_FAILED:
        return states.transition(job, states.FAILED, error=data["error"], steps=steps)
    if event_type == catalog.JOB_CANCELLED:
        if job.cancel_requested_at is None:
            # The executor stops on SIGTERM whoever sends it; only a user's request is a cancel.
            return states.transition(
                job,
                states.FAILED,
                error={"code": states.INTERRUPTED, "message": "the executor was stopped before the board finished (shutdown, node drain or eviction)"},
                steps=steps,
            )
        return states.transition(
            job, states.CANCELLED, error={"code": "cancelled", "message": "cancelled by request"}, steps=steps
        )
    raise ValueError(event_type)


def result_ref_problem(job_id: str, ref: Any) -> str | None:
    """Why a completion's result reference is unacceptable (None if it is fine). A job's
    token signs reports about that job only, so its result must lie under its own
    prefix: anything else would let one job show another job's files as its result."""
    if ref is None:
        return None
    key = ref.get("key") if isinstance(ref, dict) else None
    if not isinstance(key, str) or not owns_key(job_id, key):
        return f"result_ref of job {job_id} must be a key under {job_key(job_id, '')}"
    return None


def read_outcome(job_id: str) -> dict[str, Any] | None:
    """The terminal report the executor stores before it emits its last event. One
    whose result reference points outside the job's prefix is no outcome."""
    try:
        outcome = json.loads(get_storage().get(job_key(job_id, "outcome.json")))
    except StorageNotFound:
        return None
    if isinstance(outcome, dict) and outcome.get("type") == catalog.JOB_COMPLETED:
        problem = result_ref_problem(job_id, (outcome.get("data") or {}).get("result_ref"))
        if problem:
            log.error("job %s: its stored outcome is ignored: %s", job_id, problem)
            return None
    return outcome


_RUNNER_FAILURES = {
    "OOMKilled": (states.OOM_KILLED, "the executor ran out of memory and was killed"),
    "DeadlineExceeded": (states.TIMEOUT, "the job ran past its deadline"),
    "ImagePullBackOff": (states.LAUNCH_FAILED, "the executor image could not be pulled"),
    "ErrImagePull": (states.LAUNCH_FAILED, "the executor image could not be pulled"),
    "CreateContainerConfigError": (states.LAUNCH_FAILED, "the executor container could not be configured"),
    "Evicted": (states.LOST_RUNNER, "the executor pod was evicted"),
}


def lost_grace_seconds() -> float:
    """How long a launched job may have no runner before it is declared lost (a Job
    being created, an executor event in flight)."""
    return get_settings().jobs.lost_grace


def apply_runner_status(job: Job, status: RunnerStatus, *, missing_grace: float | None = None) -> bool:
    """What the backend saw (Kubernetes Job status, a local process exit) → status.

    The executor's stored outcome wins when there is one: it is what the board did.
    Otherwise a failed, finished-without-report or vanished runner fails the job."""
    if states.is_terminal(job.status) or status.phase not in (FAILED, SUCCEEDED, MISSING):
        return False
    try:
        outcome = read_outcome(job.id)
    except (StorageError, ValueError) as exc:
        log.warning("cannot read the outcome of job %s: %s", job.id, exc)
        return False
    if outcome is not None:
        return apply_outcome(job, outcome["type"], outcome["data"])
    if status.reason == "Cancelled":  # we stopped it on request before it could report
        return states.transition(job, states.CANCELLED, error={"code": "cancelled", "message": "cancelled by request"})
    if status.phase == MISSING:
        grace = lost_grace_seconds() if missing_grace is None else missing_grace
        if job.launched_at is None or utcnow() - job.launched_at < timedelta(seconds=grace):
            return False
        code, message = states.LOST_RUNNER, "the executor vanished without reporting"
    elif status.phase == SUCCEEDED:
        code, message = states.LOST_RUNNER, "the executor finished without reporting an outcome"
    else:
        code, message = _RUNNER_FAILURES.get(status.reason or "", (states.LOST_RUNNER, "the executor failed"))
        if status.message:
            message = f"{message}: {status.message}"
    return states.transition(job, states.FAILED, error={"code": code, "message": message, "runner_reason": status.reason})


def on_runner_start(job_id: str) -> bool:
    """The local backend is about to start the job's executor (at once, or when a slot
    frees): record it as launched, unless it was cancelled or finished meanwhile. Until
    then it is still unlaunched in the database, so a restart launches it again."""
    with session_scope() as session:
        job = _locked_job(session, job_id)
        if job is None or states.is_terminal(job.status) or job.cancel_requested_at is not None:
            return False
        if job.launched_at is None:
            _record_launch(job)
        return True


def _record_launch(job: Job) -> None:
    """The job's runner is launched (Kubernetes: its Job created; locally: its executor starting)."""
    job.launched_at = utcnow()
    metrics.job_launched(job)


def on_runner_exit(status: RunnerStatus) -> None:
    """The local backend saw an executor process end."""
    with session_scope() as session:
        job = _locked_job(session, status.job_id)
        if job is not None:
            apply_runner_status(job, status, missing_grace=0)
    wake_waiters()


def _handle_apiserver(event: Event) -> str:
    """A Kubernetes Job changed (ApiServerSource): what the executor cannot report
    itself (OOM kill, deadline, image pull failure, eviction) becomes a status write."""
    from boardrun.jobs.backends.k8s_objects import job_id_of

    obj = event.data if isinstance(event.data, dict) else {}
    job_id = job_id_of(obj)
    if job_id is None:
        return "not one of our Jobs"
    # The event only says which Job changed (anyone in the cluster could post one):
    # what the Job and its pods really are now comes from the backend.
    try:
        status = get_backend().status(job_id)
    except TransientBackendError as exc:
        raise TransientEventError(str(exc)) from exc
    with session_scope() as session:
        job = _locked_job(session, job_id)
        # A vanished Job's executor may still be reporting: apply_runner_status gives it a grace period.
        changed = job is not None and apply_runner_status(job, status)
    return "updated" if changed else "no change"


def _handle_ping(event: Event) -> str:
    task = event.data.get("task") if isinstance(event.data, dict) else None
    if task == "outbox-relay":
        return f"relayed {relay_outbox()}"
    if task == "reconcile":
        return f"reconciled {reconcile()}"
    raise PermanentEventError(f"unknown ping task {task!r}")


def _waits_for(job: Job, event_type: str) -> bool:
    """Whether the job is still waiting for this command: a dead letter of a submission
    the reconcile has launched meanwhile, or of a cancel nobody asked for, is no reason
    to fail it."""
    if states.is_terminal(job.status):
        return False
    if event_type == catalog.JOB_SUBMITTED:
        return job.launched_at is None and job.cancel_requested_at is None
    if event_type == catalog.JOB_CANCEL_REQUESTED:
        return job.cancel_requested_at is not None
    return False  # an executor report: kept for operators, the reconcile repairs the job


def _verifiable(event: Event) -> bool:
    try:
        _check_signature(event)
        return True
    except PermanentEventError:
        return False


def record_dead_letter(event: Event) -> str:
    """The broker gave up on an event: keep it, and fail the job still waiting for it.

    The sink is reachable by whoever can reach the dispatcher, so it stores only
    events it can verify (job commands and reports signed with their job's token: each
    one at most once), ignores an event that was in fact processed (a replay of a
    delivered command), and fails a job only while it still waits for that command."""
    job_id = event.extensions.get(catalog.EXT_JOB_ID)
    if not (event.type in catalog.OUR_TYPES and not catalog.data_problems(event.type, event.data) and _verifiable(event)):
        log.warning("dead letter %s %s from %s not stored: not a signed job event", event.type, event.id, event.source)
        return "not stored: not a signed job event"
    dedupe_source = "dead-letter:" + event.source  # the same event may also have been processed normally
    with session_scope() as session:
        if _already_processed(session, event):
            return "already processed"
        if _already_processed(session, event, dedupe_source):
            return "duplicate"
        session.add(
            DeadLetter(
                event_id=event.id,
                type=event.type,
                source=event.source,
                job_id=job_id,
                error_code=event.extensions.get("knativeerrorcode"),
                destination=event.extensions.get("knativeerrordest"),
                data=event.data,
            )
        )
        _mark_processed(session, event, dedupe_source)
        job = _locked_job(session, job_id) if job_id else None
        if job is not None and _waits_for(job, event.type):
            states.transition(
                    job,
                    states.FAILED,
                    error={"code": states.UNDELIVERABLE, "message": f"the {event.type} event could not be delivered"},
                )
    log.error("dead-lettered %s %s (job %s)", event.type, event.id, job_id)
    return "recorded"


# -- the periodic reconcile ---------------------------------------------------


def _reconcile_job(
    job_id: str,
    runners: dict[str, RunnerStatus],
    now: datetime,
    queue_timeout: timedelta,
    redispatch_after: timedelta,
    grace: timedelta,
) -> int:
    """Repair one active job; returns how many changes it made."""
    backend = get_backend()
    changed = 0
    relaunch = None
    with session_scope() as session:
        job = _locked_job(session, job_id)
        if job is None or states.is_terminal(job.status):
            return changed
        if job.launched_at is None:
            if backend.queues_launches and job.id in runners:
                pass  # waiting for a slot in the backend's own queue: it records its start itself
            elif now - job.created_at > queue_timeout:
                changed += states.transition(
                    job, states.FAILED, error={"code": states.NOT_DISPATCHED, "message": "the job was never launched"}
                )
            elif now - job.created_at > redispatch_after and job.cancel_requested_at is None:
                relaunch = launch_spec(job.id, job.attempt, job.app_id, job.board_id, job.spec_key, job.deadline_seconds)
        else:
            runner = runners.get(job.id) or RunnerStatus(job_id=job.id, phase=MISSING)
            if apply_runner_status(job, runner):
                changed += 1
            elif now - job.launched_at > timedelta(seconds=job.deadline_seconds) + grace:
                changed += states.transition(
                    job, states.FAILED, error={"code": states.TIMEOUT, "message": "the job ran past its deadline"}
                )
                runners.setdefault(job.id, RunnerStatus(job_id=job.id, phase="running"))
    if relaunch is not None:  # its job.submitted event was lost or dead-lettered
        try:
            backend.launch(relaunch)
        except (TransientBackendError, PermanentBackendError) as exc:
            log.warning("re-launch of job %s failed: %s", job_id, exc)
            return changed
        if backend.queues_launches:
            return changed + 1
        with session_scope() as session:
            job = _locked_job(session, job_id)
            if job is not None and job.launched_at is None:
                _record_launch(job)
                changed += 1
    return changed


def reconcile(*, redispatch_after: timedelta | None = None) -> int:
    """Compare the jobs the database thinks are active with the backend's runners and
    repair both ways. Returns how many jobs or runners were changed."""
    backend = get_backend()
    try:
        runners = {r.job_id: r for r in backend.list_runners()}
    except TransientBackendError as exc:
        raise TransientEventError(str(exc)) from exc
    job_settings = get_settings().jobs
    queue_timeout = timedelta(seconds=job_settings.queue_timeout)
    if redispatch_after is None:
        redispatch_after = timedelta(seconds=job_settings.redispatch_after)
    grace = timedelta(seconds=job_settings.deadline_grace)
    now = utcnow()
    changed = 0
    with session_scope() as session:
        active = session.scalars(
            select(Job.id).where(Job.status.in_([states.QUEUED, states.RUNNING])).order_by(Job.created_at)
        ).all()
    for job_id in active:
        try:
            changed += _reconcile_job(job_id, runners, now, queue_timeout, redispatch_after, grace)
        except (OperationalError, StorageError, TransientEventError):
            raise  # the database, storage or backend is down: the whole tick fails, retried later
        except Exception:  # one job the reconcile cannot process must not stall every other
            log.exception("reconcile of job %s failed", job_id)
    # Runners whose job is finished (or unknown) must not keep running.
    with session_scope() as session:
        live = {r for r, s in runners.items() if s.phase in ("pending", "running")}
        finished = set(session.scalars(select(Job.id).where(Job.id.in_(live), Job.status.in_(states.TERMINAL))).all()) if live else set()
        known = set(session.scalars(select(Job.id).where(Job.id.in_(live))).all()) if live else set()
    for job_id in finished | (live - known):
        try:
            backend.cancel(job_id)
            changed += 1
        except (TransientBackendError, PermanentBackendError) as exc:
            log.warning("could not stop the runner of finished job %s: %s", job_id, exc)
    metrics.RECONCILE_REPAIRS.inc(changed)
    return changed


def resume_local_queue() -> int:
    """At the embedded server's start: the jobs accepted before a crash that never got a
    runner (they waited for a local slot) are launched again at once, oldest first, ahead
    of new submissions; jobs that had a runner are repaired as by any reconcile (lost_runner)."""
    return reconcile(redispatch_after=timedelta(0))
