"""The local backend's queue is durable: a job waiting for a local slot stays unlaunched in
the database until its executor really starts, so a restarted server launches it again,
in submission order, and the reconcile neither fails nor re-dispatches it while it waits."""

from datetime import timedelta

import pytest

from sqlalchemy import select

from boardrun import services
from boardrun.db import session_scope
from boardrun.eventing import catalog
from boardrun.eventing.cloudevents_adapter import Event
from boardrun.eventing.outbox import OutboxEvent
from boardrun.jobs import dispatcher, repairs
from boardrun.jobs.backends import set_backend
from boardrun.jobs.backends.base import RunnerPhase
from boardrun.jobs.backends.local import LocalBackend
from boardrun.jobs.models import Job
from boardrun.testing.boards import echo_board
from tests.conftest import function_client, register_and_login
from tests.jobs.test_dispatcher import _post


def _no_slot_backend() -> LocalBackend:
    """A local backend whose every slot is taken: each launch waits in its queue."""
    return LocalBackend(max_concurrent=0, on_start=dispatcher.on_runner_start, on_exit=dispatcher.on_runner_exit)


@pytest.fixture
def backend(env, monkeypatch):
    monkeypatch.delenv("K_SINK", raising=False)  # no broker: events stay in the outbox
    services.reset()
    b = _no_slot_backend()
    set_backend(b)
    yield b
    set_backend(None)


@pytest.fixture
def submit(api, backend):
    user = register_and_login(api)
    app_id = api.post("/api/v1/apps", json={"name": "A"}, headers=user["headers"]).get_json()["id"]
    api.put(f"/api/v1/apps/{app_id}/board/echo", json={**echo_board(), "id": "echo"}, headers=user["headers"])
    api.patch(f"/api/v1/apps/{app_id}/board/echo?version_type=Patch", headers=user["headers"])

    def submit_one() -> str:
        r = api.post("/jobs/submit", json={"app_id": app_id, "board_id": "echo", "payload": {}}, headers=user["headers"])
        assert r.status_code == 202, r.get_data(as_text=True)
        return r.get_json()["job_id"]

    submit_one.headers = user["headers"]
    return submit_one


def _submitted_event(job_id: str) -> Event:
    with session_scope() as s:
        row = s.scalar(
            select(OutboxEvent).where(OutboxEvent.type == catalog.JOB_SUBMITTED, OutboxEvent.data["job_id"].as_string() == job_id)
        )
        return Event(row.type, row.source, row.data, id=row.event_id, subject=row.subject, extensions=row.extensions)


def _job(job_id: str) -> Job:
    with session_scope() as s:
        job = s.get(Job, job_id)
        s.expunge(job)
        return job


def test_a_job_waiting_for_a_slot_is_not_recorded_as_launched(submit, backend):
    """job.submitted with no free slot queues the job in the backend; it stays queued and unlaunched."""
    job_id = submit()
    r = _post(function_client("dispatcher"), _submitted_event(job_id))
    assert r.status_code == 200 and r.get_json()["status"] == "launched"
    assert backend.status(job_id).phase == RunnerPhase.PENDING
    job = _job(job_id)
    assert job.status == "queued" and job.launched_at is None


def test_reconcile_leaves_a_job_waiting_for_a_slot_alone(submit, backend, monkeypatch):
    """Past the queue timeout, a job the backend holds in its queue is neither failed (not_dispatched) nor launched twice."""
    monkeypatch.setenv("JOB_QUEUE_TIMEOUT_SECONDS", "60")
    services.reset()
    set_backend(backend)
    job_id = submit()
    _post(function_client("dispatcher"), _submitted_event(job_id))
    with session_scope() as s:
        s.get(Job, job_id).created_at -= timedelta(minutes=5)
    assert repairs.reconcile() == 0
    assert _job(job_id).status == "queued"
    assert [r.job_id for r in backend.list_runners()] == [job_id]


def test_restart_relaunches_unstarted_jobs_oldest_first_and_once(submit, backend):
    """After a restart (a new, empty backend), resume_local_queue queues every unlaunched job in
    submission order; a second resume, or the job's late job.submitted, adds nothing."""
    first, second, third = submit(), submit(), submit()
    restarted = _no_slot_backend()
    set_backend(restarted)
    assert repairs.resume_local_queue() == 3
    assert [r.job_id for r in restarted.list_runners()] == [first, second, third]
    assert repairs.resume_local_queue() == 0
    _post(function_client("dispatcher"), _submitted_event(first))
    assert [r.job_id for r in restarted.list_runners()] == [first, second, third]


def test_start_is_recorded_only_for_a_job_that_may_still_run(api, submit, backend):
    """on_runner_start records launched_at and allows a queued job; it refuses a cancelled one, which stays unlaunched."""
    runnable, cancelled = submit(), submit()
    assert api.post(f"/jobs/{cancelled}/cancel", headers=submit.headers).status_code == 204
    assert dispatcher.on_runner_start(runnable) is True
    assert _job(runnable).launched_at is not None
    assert dispatcher.on_runner_start(cancelled) is False
    job = _job(cancelled)
    assert job.status == "cancelled" and job.launched_at is None


def test_a_start_that_cannot_be_recorded_starts_nothing(submit, backend):
    """If recording the start fails (database down), no executor starts and the backend forgets
    the job, so the reconcile can launch it again later."""

    def database_down(job_id):
        raise ConnectionError("database unavailable")

    job_id = submit()
    with_slot = LocalBackend(max_concurrent=1, on_start=database_down)
    set_backend(with_slot)
    _post(function_client("dispatcher"), _submitted_event(job_id))
    assert with_slot.status(job_id).phase == RunnerPhase.MISSING and with_slot.list_runners() == []
    assert _job(job_id).launched_at is None


def test_without_a_start_callback_the_dispatcher_records_the_launch(submit, backend):
    """A local backend nobody told how to record starts (on_start unset) leaves that to the
    dispatcher, as before: the job is launched as soon as the backend accepts it."""
    job_id = submit()
    set_backend(LocalBackend(max_concurrent=0))
    _post(function_client("dispatcher"), _submitted_event(job_id))
    assert _job(job_id).launched_at is not None
