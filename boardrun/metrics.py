"""Prometheus metrics (prometheus-client), served at `GET /metrics` by every function and
by the embedded server.

Label values are bounded: routes are the routes table's rule templates (never the raw
path), methods and error codes outside known sets become `other`. Job metrics are
recorded when the transaction that made the status write commits, so a rolled-back
write is never counted; job transitions are monotonic and happen once per job, so the
counters summed over pods are exact. Database-backed gauges (outbox backlog, active
jobs) are computed at scrape time with one cheap indexed query each.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from prometheus_client import REGISTRY, Counter, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session
from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from boardrun.jobs.models import Job

log = logging.getLogger(__name__)
disable_created_metrics()  # the *_created series double the series count for a timestamp nobody queries

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # the route label of requests no rule matched (404, 405, redirects)

# Requests: up to the 60 s a sync job or webhook may wait.
_HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# Jobs: from a trivial board to the longest deadline.
_JOB_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)

HTTP_REQUESTS = Counter(
    "boardrun_http_requests", "HTTP requests answered, by route template and status",
    ["function", "route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "boardrun_http_request_duration_seconds", "Time to answer an HTTP request, by route template",
    ["function", "route", "method"], buckets=_HTTP_BUCKETS,
)
JOBS_SUBMITTED = Counter("boardrun_jobs_submitted", "Jobs accepted (new job rows; idempotent replays excluded)", ["mode"])
JOBS_STARTED = Counter("boardrun_jobs_started", "Jobs that moved to running")
JOBS_FINISHED = Counter(
    "boardrun_jobs_finished", "Jobs that reached a terminal state, by status and error code", ["status", "error_code"]
)
QUEUE_WAIT = Histogram(
    "boardrun_job_queue_wait_seconds", "Time from a job's creation to its start (running)", buckets=_JOB_BUCKETS
)
DISPATCH_LATENCY = Histogram(
    "boardrun_job_dispatch_seconds", "Time from a job's creation to its runner being launched", buckets=_JOB_BUCKETS
)
RUN_DURATION = Histogram(
    "boardrun_job_run_duration_seconds", "Time from a job's start to its terminal state, by status",
    ["status"], buckets=_JOB_BUCKETS,
)
EXECUTOR_CPU = Histogram(
    "boardrun_executor_cpu_seconds", "CPU time (user + system) an executor used for its job, as it reported it",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)
EXECUTOR_MEMORY = Histogram(
    "boardrun_executor_max_rss_bytes", "Peak resident memory of an executor process, as it reported it",
    buckets=tuple(mib * 2**20 for mib in (32, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 2048, 4096)),
)
RECONCILE_REPAIRS = Counter(
    "boardrun_reconcile_repairs", "Jobs and runners the periodic reconcile changed (repairs of lost events)"
)


# -- HTTP ------------------------------------------------------------------------


def observe_request(function: str, route: str, method: str, status: int, seconds: float) -> None:
    method = method if method in METHODS else "other"
    HTTP_REQUESTS.labels(function, route, method, str(status)).inc()
    HTTP_DURATION.labels(function, route, method).observe(seconds)


def view(request: Request) -> Response:
    """GET /metrics: the text exposition format."""
    return Response(generate_latest(REGISTRY), status=200, headers={"Content-Type": CONTENT_TYPE_LATEST,
                                                                   "Cache-Control": "no-store"})


# -- jobs: recorded when the status write commits ------------------------------------

_PENDING = "boardrun.metrics"  # Session.info key: observations waiting for the commit


def _error_code(error: dict[str, Any] | None) -> str:
    from boardrun.jobs import states

    code = error.get("code") if isinstance(error, dict) else None
    if code is None:
        return ""
    return code if code in states.ERROR_CODES else "other"


def _seconds(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    # SQLite hands datetimes back naive (UTC); compare like with like
    later, earlier = (d if d.tzinfo else d.replace(tzinfo=timezone.utc) for d in (later, earlier))
    return max(0.0, (later - earlier).total_seconds())


def _defer(job: "Job", record) -> None:
    session = object_session(job)
    if session is None:  # not persisted through a session: nothing will commit it later
        record()
    else:
        session.info.setdefault(_PENDING, []).append(record)


def job_transitioned(job: "Job", to: str, previous: str) -> None:
    """Called by states.transition after it changed `job` from `previous` to `to`."""
    from boardrun.jobs import states

    # A run shorter than the executor's start-report delay goes from queued to its outcome:
    # it started all the same (its start time derived from its duration).
    ran_unseen = to in states.TERMINAL and previous == states.JobStatus.QUEUED and job.started_at is not None
    wait = _seconds(job.started_at, job.created_at) if to == states.JobStatus.RUNNING or ran_unseen else None

    def record_start() -> None:
        JOBS_STARTED.inc()
        if wait is not None:
            QUEUE_WAIT.observe(wait)

    if to == states.JobStatus.RUNNING:
        _defer(job, record_start)
        return
    code = _error_code(job.error) if to != states.JobStatus.COMPLETED else ""
    ran = _seconds(job.completed_at, job.started_at)

    def record() -> None:
        if ran_unseen:
            record_start()
        JOBS_FINISHED.labels(to, code).inc()
        if ran is not None:
            RUN_DURATION.labels(to).observe(ran)
    _defer(job, record)


def job_submitted(mode: str) -> None:
    JOBS_SUBMITTED.labels(mode if mode in ("sync", "async") else "other").inc()


def job_launched(job: "Job") -> None:
    """Called when the dispatcher records a job's launch (in the launch transaction)."""
    latency = _seconds(job.launched_at, job.created_at)
    if latency is not None:
        _defer(job, lambda: DISPATCH_LATENCY.observe(latency))


def executor_usage(job: "Job", cpu_ms: Any, max_rss_bytes: Any) -> None:
    """The resources the executor reported with its outcome (absent from older executors)."""
    def record() -> None:
        if isinstance(cpu_ms, (int, float)) and cpu_ms >= 0:
            EXECUTOR_CPU.observe(cpu_ms / 1000)
        if isinstance(max_rss_bytes, int) and max_rss_bytes >= 0:
            EXECUTOR_MEMORY.observe(max_rss_bytes)

    _defer(job, record)


@sa_event.listens_for(Session, "after_commit")
def _flush(session: Session) -> None:
    for record in session.info.pop(_PENDING, ()):
        record()


@sa_event.listens_for(Session, "after_rollback")
def _discard(session: Session) -> None:
    session.info.pop(_PENDING, None)


# -- scrape-time gauges from the database ---------------------------------------------


class DatabaseCollector:
    """Outbox backlog and age, and jobs by active state, read when scraped. A database
    that cannot answer leaves these gauges out of the scrape (the request metrics still
    answer) and says so in the log."""

    def describe(self):  # no query at registration time
        return []

    def collect(self):
        from boardrun.db import session_scope
        from boardrun.eventing.outbox import OutboxEvent
        from boardrun.jobs import states
        from boardrun.jobs.models import Job

        try:
            with session_scope() as session:
                pending, oldest = session.execute(
                    select(func.count(OutboxEvent.id), func.min(OutboxEvent.created_at)).where(
                        OutboxEvent.published_at.is_(None)
                    )
                ).one()
                active = dict(
                    session.execute(
                        select(Job.status, func.count(Job.id))
                        .where(Job.status.in_(states.ACTIVE))
                        .group_by(Job.status)
                    ).all()
                )
        except Exception as exc:  # a scrape must not fail because the database is down
            log.warning("metrics: database gauges unavailable: %s", exc)
            return
        yield GaugeMetricFamily("boardrun_outbox_pending", "Outbox events not yet published to the broker", value=pending)
        age = _seconds(datetime.now(timezone.utc), oldest) or 0.0
        yield GaugeMetricFamily(
            "boardrun_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox event (0 when none)", value=age
        )
        jobs = GaugeMetricFamily("boardrun_jobs_active", "Jobs queued or running (queue depth)", labels=["status"])
        for status in states.ACTIVE:
            jobs.add_metric([status], active.get(status, 0))
        yield jobs


REGISTRY.register(DatabaseCollector())
