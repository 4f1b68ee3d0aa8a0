"""Each periodic repair on its own, against the database and a recording backend: what it
repairs, what it leaves alone, and what it counts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from boardrun import services
from boardrun.db import session_scope, utcnow
from boardrun.jobs.backends.base import RunnerPhase, RunnerStatus
from boardrun.jobs.models import Job
from boardrun.jobs.repairs.deadline import fail_overdue_jobs
from boardrun.jobs.repairs.lost_runner import settle_lost_runners
from boardrun.jobs.repairs.orphan_runners import stop_orphan_runners
from boardrun.jobs.repairs.queue_timeout import fail_undispatched_jobs
from boardrun.jobs.repairs.redispatch import redispatch_lost_submissions
from boardrun.jobs.repairs.sweep import Sweep
from boardrun.jobs.states import JobStatus

# The dispatcher tests' fixtures (a recording backend, a submitted job) and helpers.
from tests.jobs.test_dispatcher import (  # noqa: F401 - backend, job_id and owner are fixtures
    RecordingBackend,
    _status,
    backend,
    job_id,
    owner,
)


def _set(job_id: str, **fields) -> None:
    with session_scope() as s:
        job = s.get(Job, job_id)
        for name, value in fields.items():
            setattr(job, name, value)


def _error_code(job_id: str) -> str | None:
    with session_scope() as s:
        return (s.get(Job, job_id).error or {}).get("code")


def _sweep(backend, *runners: RunnerStatus) -> Sweep:
    return Sweep(backend, {r.job_id: r for r in runners}, utcnow())


@pytest.fixture
def second_job(api, job_id, owner) -> str:
    with session_scope() as s:
        app_id = s.get(Job, job_id).app_id
    r = api.post("/jobs/submit", json={"app_id": app_id, "board_id": "echo", "payload": {}}, headers=owner["headers"])
    return r.get_json()["job_id"]


def test_settle_lost_runners_fails_a_launched_job_whose_runner_vanished(job_id, second_job, backend):
    """A launched job with no runner past the grace fails lost_runner; one whose runner runs,
    and an unlaunched one, are left alone."""
    _set(job_id, launched_at=utcnow() - timedelta(minutes=5))
    _set(second_job, launched_at=utcnow() - timedelta(minutes=5))
    assert settle_lost_runners(_sweep(backend, RunnerStatus(second_job, RunnerPhase.RUNNING))) == 1
    assert _error_code(job_id) == "lost_runner" and _status(second_job) == "queued"
    _set(second_job, launched_at=None)
    assert settle_lost_runners(_sweep(backend)) == 0


def test_fail_overdue_jobs_fails_past_the_deadline_and_hands_the_runner_to_the_orphan_stop(job_id, second_job, backend):
    """A job launched longer ago than its deadline + grace fails timeout, and its runner,
    even one the listing missed, is stopped by the orphan repair that follows."""
    _set(job_id, launched_at=utcnow() - timedelta(seconds=600 + 31), status=JobStatus.RUNNING)
    _set(second_job, launched_at=utcnow() - timedelta(seconds=600), status=JobStatus.RUNNING)
    sweep = _sweep(backend)
    assert fail_overdue_jobs(sweep) == 1
    assert _error_code(job_id) == "timeout" and _status(second_job) == "running"
    assert stop_orphan_runners(sweep) == 1 and backend.cancelled == [job_id]


def test_fail_undispatched_jobs_fails_only_jobs_past_the_queue_timeout(job_id, second_job, backend, monkeypatch):
    """A job unlaunched for longer than JOB_QUEUE_TIMEOUT_SECONDS fails not_dispatched; a younger one waits."""
    monkeypatch.setenv("JOB_QUEUE_TIMEOUT_SECONDS", "600")
    services.reset()
    _set(job_id, created_at=utcnow() - timedelta(seconds=601))
    assert fail_undispatched_jobs(_sweep(backend)) == 1
    assert _error_code(job_id) == "not_dispatched" and _status(second_job) == "queued"


def test_a_job_waiting_in_the_backends_queue_is_neither_failed_nor_relaunched(job_id, backend, monkeypatch):
    """With a backend that queues launches itself, a job it lists as pending is not late:
    neither the queue timeout nor the redispatch touches it."""
    monkeypatch.setenv("JOB_QUEUE_TIMEOUT_SECONDS", "600")
    services.reset()
    _set(job_id, created_at=utcnow() - timedelta(hours=2))
    queueing = RecordingBackend()
    queueing.queues_launches = True
    waiting = RunnerStatus(job_id, RunnerPhase.PENDING)
    assert fail_undispatched_jobs(_sweep(queueing, waiting)) == 0
    assert redispatch_lost_submissions(_sweep(queueing, waiting), after=timedelta(0)) == 0
    assert _status(job_id) == "queued" and queueing.launched == []


def test_redispatch_launches_a_job_whose_submission_was_lost(job_id, second_job, backend):
    """A job unlaunched past the delay is launched and recorded as launched; a cancelled one and a young one are not."""
    _set(job_id, created_at=utcnow() - timedelta(minutes=5))
    _set(second_job, created_at=utcnow() - timedelta(minutes=5), cancel_requested_at=utcnow())
    assert redispatch_lost_submissions(_sweep(backend), after=timedelta(minutes=1)) == 1
    assert backend.launched == [job_id]
    with session_scope() as s:
        assert s.get(Job, job_id).launched_at is not None and s.get(Job, second_job).launched_at is None
    assert redispatch_lost_submissions(_sweep(backend), after=timedelta(hours=1)) == 0


def test_redispatch_leaves_a_job_unlaunched_when_the_backend_refuses(job_id, backend):
    """A launch the backend cannot make now counts nothing and keeps the job unlaunched for the next pass."""
    _set(job_id, created_at=utcnow() - timedelta(minutes=5))
    backend.transient_failures = 1
    assert redispatch_lost_submissions(_sweep(backend), after=timedelta(minutes=1)) == 0
    with session_scope() as s:
        assert s.get(Job, job_id).launched_at is None


def test_stop_orphan_runners_stops_runners_of_finished_or_unknown_jobs(job_id, second_job, backend):
    """Live runners of a completed job and of a job the database does not know are stopped; an active job's runner runs on."""
    _set(job_id, status=JobStatus.COMPLETED)
    sweep = _sweep(backend, *(RunnerStatus(j, RunnerPhase.RUNNING) for j in (job_id, second_job, "job-unknown")),
                   RunnerStatus("job-gone", RunnerPhase.SUCCEEDED))
    assert stop_orphan_runners(sweep) == 2
    assert sorted(backend.cancelled) == sorted([job_id, "job-unknown"])


def test_a_pass_locks_no_job_that_no_repair_is_due_for(job_id, second_job, backend, monkeypatch):
    """Young unlaunched jobs (a burst waiting for slots) and a launched one whose runner runs
    within its deadline: every repair judges them on a plain read and locks none (a pass
    over hundreds of them holds no write lock); a job that is due is still locked and repaired."""
    from boardrun.jobs.repairs import reconcile, sweep as sweep_module

    locked: list[str] = []
    real = sweep_module.locked_job
    monkeypatch.setattr(sweep_module, "locked_job", lambda session, jid: locked.append(jid) or real(session, jid))
    _set(second_job, launched_at=utcnow(), status=JobStatus.RUNNING)
    backend.launched.append(second_job)  # its runner is listed running
    assert reconcile() == 0 and locked == []
    _set(job_id, created_at=utcnow() - timedelta(minutes=5))  # past the redispatch delay (60 s)
    assert reconcile() == 1 and locked == [job_id] and backend.launched == [second_job, job_id]
