"""The dispatcher function (functions-framework test client) and the outbox: duplicate
and out-of-order events, forged reports, transient failures, dead letters, and a
broker that is down when a job is submitted."""

import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from sqlalchemy import func, select
from werkzeug.wrappers import Request, Response

from boardrun import services
from boardrun.db import session_scope
from boardrun.eventing import catalog
from boardrun.eventing.cloudevents_adapter import Event, parse, to_http_binary
from boardrun.eventing.outbox import OutboxEvent, relay_outbox
from boardrun.jobs import signing
from boardrun.jobs.backends import set_backend
from boardrun.jobs.backends.base import JobBackend, RunnerPhase, RunnerStatus, TransientBackendError
from boardrun.jobs.models import DeadLetter, Job, JobEvent
from boardrun.testing.boards import echo_board
from tests.apps.conftest import add_member
from tests.conftest import function_client, register_and_login


class RecordingBackend(JobBackend):
    """An in-memory backend: records launches and cancels; can fail transiently."""

    name = "recording"

    def __init__(self, transient_failures: int = 0):
        self.launched: list[str] = []
        self.cancelled: list[str] = []
        self.transient_failures = transient_failures

    def launch(self, spec):
        if self.transient_failures:
            self.transient_failures -= 1
            raise TransientBackendError("API server unavailable")
        if spec.job_id not in self.launched:
            self.launched.append(spec.job_id)

    def cancel(self, job_id):
        self.cancelled.append(job_id)

    def status(self, job_id):
        return RunnerStatus(job_id, RunnerPhase.RUNNING if job_id in self.launched else RunnerPhase.MISSING)

    def list_runners(self):
        return [RunnerStatus(j, RunnerPhase.RUNNING) for j in self.launched if j not in self.cancelled]


@pytest.fixture
def backend(env, monkeypatch):
    monkeypatch.delenv("K_SINK", raising=False)  # no broker: events stay in the outbox
    services.reset()
    b = RecordingBackend()
    set_backend(b)
    yield b
    set_backend(None)


@pytest.fixture
def owner(api, backend):
    return register_and_login(api)


@pytest.fixture
def job_id(api, backend, owner):
    """A submitted job (its job.submitted event unpublished: no broker)."""
    user = owner
    app_id = api.post("/api/v1/apps", json={"name": "A"}, headers=user["headers"]).get_json()["id"]
    api.put(f"/api/v1/apps/{app_id}/board/echo", json={**echo_board(), "id": "echo"}, headers=user["headers"])
    api.patch(f"/api/v1/apps/{app_id}/board/echo?version_type=Patch", headers=user["headers"])
    r = api.post("/jobs/submit", json={"app_id": app_id, "board_id": "echo", "payload": {}}, headers=user["headers"])
    assert r.status_code == 202, r.get_data(as_text=True)
    return r.get_json()["job_id"]


def _submitted_event(job_id: str) -> Event:
    with session_scope() as s:
        row = s.scalar(select(OutboxEvent).where(OutboxEvent.type == catalog.JOB_SUBMITTED))
        return Event(row.type, row.source, row.data, id=row.event_id, subject=row.subject, extensions=row.extensions)


def _signed(event: Event, token: str | None = None) -> Event:
    job_id = event.extensions["jobid"]
    return event.with_extensions(jobsig=signing.sign(event, job_id, token or signing.job_token(job_id)))


def _executor_event(job_id: str, event_type: str, data: dict, token: str | None = None) -> Event:
    event = Event(event_type, catalog.executor_source(job_id), {"job_id": job_id, **data}, extensions={"jobid": job_id})
    return _signed(event, token)


def _post(client, event: Event, path="/events"):
    headers, body = to_http_binary(event)
    return client.post(path, data=body, headers=headers)


def _status(job_id):
    with session_scope() as s:
        return s.get(Job, job_id).status


def test_submitted_event_launches_once_however_often_delivered(job_id, backend):
    """job.submitted launches the job; redelivering the same event launches nothing more."""
    client = function_client("dispatcher")
    event = _submitted_event(job_id)
    assert _post(client, event).status_code == 200
    assert _post(client, event).get_json()["status"] == "duplicate"
    assert backend.launched == [job_id]


def test_transient_backend_failure_is_5xx_then_succeeds_on_retry(job_id, backend):
    """A backend outage answers 503 (the broker retries); the retry launches the job."""
    backend.transient_failures = 1
    client = function_client("dispatcher")
    event = _submitted_event(job_id)
    assert _post(client, event).status_code == 503
    assert backend.launched == []
    assert _post(client, event).status_code == 200
    assert backend.launched == [job_id]


def test_reports_move_forward_only(job_id, backend):
    """Completed then a late 'started' leaves the job completed with its result; duplicates are no-ops."""
    client = function_client("dispatcher")
    _post(client, _submitted_event(job_id))
    done = _executor_event(job_id, catalog.JOB_COMPLETED, {"result": {"ok": 1}, "result_ref": None, "steps": 2})
    assert _post(client, done).status_code == 200
    assert _post(client, _executor_event(job_id, catalog.JOB_STARTED, {"attempt": 1})).status_code == 200
    assert _post(client, done).get_json()["status"] == "duplicate"
    with session_scope() as s:
        job = s.get(Job, job_id)
        assert (job.status, job.result) == ("completed", {"ok": 1})


def test_forged_report_is_refused(job_id, backend):
    """A completion signed with the wrong token is refused with 422 and changes nothing."""
    client = function_client("dispatcher")
    forged = _executor_event(job_id, catalog.JOB_COMPLETED, {"result": 1, "steps": 1}, token="guessed")
    r = _post(client, forged)
    assert r.status_code == 422 and "signature" in r.get_json()["error"]["message"]
    unsigned = Event(catalog.JOB_FAILED, catalog.executor_source(job_id), {"job_id": job_id, "error": {"code": "x", "message": "y"}}, extensions={"jobid": job_id})
    assert _post(client, unsigned).status_code == 422
    assert _status(job_id) == "queued"


def test_forged_commands_are_refused(job_id, backend):
    """An unsigned or wrongly signed cancel request, or a command posing as an executor report, changes nothing (422)."""
    client = function_client("dispatcher")
    cancel = Event(catalog.JOB_CANCEL_REQUESTED, catalog.JOBS_SOURCE, {"job_id": job_id}, extensions={"jobid": job_id})
    assert _post(client, cancel).status_code == 422
    assert _post(client, _signed(cancel, token="guessed")).status_code == 422
    wrong_source = _signed(Event(catalog.JOB_CANCEL_REQUESTED, catalog.executor_source(job_id), {"job_id": job_id}, extensions={"jobid": job_id}))
    assert _post(client, wrong_source).status_code == 422
    assert backend.cancelled == [] and _status(job_id) == "queued"
    forged_dead_letter = cancel.with_extensions(knativeerrorcode="500")
    assert _post(client, forged_dead_letter, "/events/dead-letter").status_code == 200  # no retry …
    assert _status(job_id) == "queued"  # … and it does not touch the job


def test_malformed_events_are_permanent_errors(job_id, backend):
    """Not a CloudEvent → 400; an unknown type or invalid data → 422 (no retry)."""
    client = function_client("dispatcher")
    assert client.post("/events", json={"hello": 1}).status_code == 400
    assert _post(client, Event("com.example.other", "/x", {})).status_code == 422
    assert _post(client, Event(catalog.JOB_SUBMITTED, catalog.JOBS_SOURCE, {"job_id": job_id})).status_code == 422


def test_dead_lettered_submission_fails_the_job(job_id, backend):
    """A job.submitted the broker gave up on is recorded and its job fails as undeliverable."""
    client = function_client("dispatcher")
    event = _submitted_event(job_id).with_extensions(knativeerrorcode="500", knativeerrordest="http://dispatcher/events")
    assert _post(client, event, "/events/dead-letter").status_code == 200
    assert _post(client, event, "/events/dead-letter").get_json()["status"] == "duplicate"
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(DeadLetter)) == 1
        assert s.get(Job, job_id).error["code"] == "undeliverable"


def test_cancel_request_cancels_runner_and_job(job_id, backend):
    """job.cancel.requested stops the runner and ends the job cancelled."""
    client = function_client("dispatcher")
    _post(client, _submitted_event(job_id))
    event = _signed(Event(catalog.JOB_CANCEL_REQUESTED, catalog.JOBS_SOURCE, {"job_id": job_id}, extensions={"jobid": job_id}))
    assert _post(client, event).status_code == 200
    assert backend.cancelled == [job_id] and _status(job_id) == "cancelled"


def test_cancel_before_start_means_never_launched(api, job_id, backend, owner):
    """A job cancelled while still queued ends cancelled at once, and its late job.submitted launches nothing."""
    assert api.post(f"/jobs/{job_id}/cancel", headers=owner["headers"]).status_code == 204
    assert _status(job_id) == "cancelled"
    r = _post(function_client("dispatcher"), _submitted_event(job_id))
    assert r.status_code == 200 and "not launched" in r.get_json()["status"]
    assert backend.launched == []


def test_vanished_runner_is_repaired_by_reconcile(job_id, backend, monkeypatch):
    """A launched job whose runner is gone (a lost status event) fails as lost_runner at the reconcile."""
    from datetime import timedelta

    from boardrun.jobs.repairs import reconcile

    client = function_client("dispatcher")
    _post(client, _submitted_event(job_id))
    backend.launched.clear()  # the runner vanished
    with session_scope() as s:
        s.get(Job, job_id).launched_at -= timedelta(minutes=5)
    assert reconcile() == 1
    with session_scope() as s:
        assert s.get(Job, job_id).error["code"] == "lost_runner"


class _Sink:
    """A real HTTP CloudEvents sink on 127.0.0.1 that records what it receives."""

    def __init__(self):
        self.events = []
        handler = type("Quiet", (WSGIRequestHandler,), {"log_message": lambda *a: None})
        self.server = make_server("127.0.0.1", 0, self.app, handler_class=handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/"

    def app(self, environ, start_response):
        request = Request(environ)
        self.events.append(parse(request.headers, request.get_data()))
        return Response(status=202)(environ, start_response)


def test_broker_down_at_submit_then_relayed_exactly_once(api, backend, monkeypatch):
    """With the broker down, submit still answers 202; the relay sends the event once the broker is back, and only once."""
    from tests.conftest import free_port

    monkeypatch.setenv("K_SINK", f"http://127.0.0.1:{free_port()}/")  # nothing listens there
    services.reset()
    set_backend(backend)
    user = register_and_login(api)
    app_id = api.post("/api/v1/apps", json={"name": "A"}, headers=user["headers"]).get_json()["id"]
    api.put(f"/api/v1/apps/{app_id}/board/echo", json={**echo_board(), "id": "echo"}, headers=user["headers"])
    api.patch(f"/api/v1/apps/{app_id}/board/echo?version_type=Patch", headers=user["headers"])
    r = api.post("/jobs/submit", json={"app_id": app_id, "board_id": "echo", "payload": {}}, headers=user["headers"])
    assert r.status_code == 202
    assert relay_outbox() == 0  # still down
    sink = _Sink()
    monkeypatch.setenv("K_SINK", sink.url)
    services.reset()
    set_backend(backend)
    assert relay_outbox() == 1
    assert relay_outbox() == 0
    sink.server.shutdown()
    assert [e.type for e in sink.events] == [catalog.JOB_SUBMITTED]
    assert sink.events[0].extensions["jobid"] == r.get_json()["job_id"]


def test_member_without_execute_permission_is_403(api, job_id, owner):
    """A member whose role lacks ExecuteBoards may read the app's jobs but not submit or cancel (403)."""
    from boardrun.apps.models import Role
    from boardrun.apps.permissions import Permission

    with session_scope() as s:
        app_id = s.get(Job, job_id).app_id
    member = register_and_login(api)
    add_member(api, owner, app_id, member, "Member")
    with session_scope() as s:
        role = s.scalar(select(Role).where(Role.app_id == app_id, Role.name == "Member"))
        role.permissions &= ~int(Permission.ExecuteBoards)
    headers = member["headers"]
    assert api.get(f"/jobs/{job_id}", headers=headers).status_code == 200
    submit = api.post("/jobs/submit", json={"app_id": app_id, "board_id": "echo", "payload": {}}, headers=headers)
    assert submit.status_code == 403 and submit.get_json()["error"]["code"] == "permission_denied"
    assert api.post(f"/jobs/{job_id}/cancel", headers=headers).status_code == 403


def test_reconcile_relaunches_a_job_whose_event_was_lost(job_id, backend):
    """A job still unlaunched after JOB_REDISPATCH_AFTER_SECONDS (its event lost) is launched by the reconcile."""
    from datetime import timedelta

    from boardrun.jobs.repairs import reconcile

    with session_scope() as s:
        s.get(Job, job_id).created_at -= timedelta(minutes=5)
    assert reconcile() == 1
    assert backend.launched == [job_id]
    with session_scope() as s:
        assert s.get(Job, job_id).launched_at is not None
    assert reconcile() == 0  # launched now: nothing more to do


def test_one_broken_job_does_not_stall_the_reconcile(api, job_id, backend, owner):
    """A job whose stored outcome is unreadable is skipped (and logged); the reconcile still repairs the others."""
    from datetime import timedelta

    from boardrun.jobs.repairs import reconcile
    from boardrun.storage import get_storage

    with session_scope() as s:
        app_id = s.get(Job, job_id).app_id
    other = api.post("/jobs/submit", json={"app_id": app_id, "board_id": "echo", "payload": {}}, headers=owner["headers"]).get_json()["job_id"]
    client = function_client("dispatcher")
    for jid in (job_id, other):
        with session_scope() as s:
            row = s.scalar(select(OutboxEvent).where(OutboxEvent.type == catalog.JOB_SUBMITTED, OutboxEvent.data["job_id"].as_string() == jid))
            event = Event(row.type, row.source, row.data, id=row.event_id, subject=row.subject, extensions=row.extensions)
        assert _post(client, event).status_code == 200
    backend.launched.clear()  # both runners vanished
    with session_scope() as s:
        for jid in (job_id, other):
            s.get(Job, jid).launched_at -= timedelta(minutes=5)
    get_storage().put(f"jobs/{job_id}/outcome.json", b'{"not": "an outcome"}')
    reconcile()
    assert _status(job_id) in ("queued", "running")  # left alone, logged (it is the oldest: processed first)
    with session_scope() as s:
        assert s.get(Job, other).error["code"] == "lost_runner"


def test_completion_before_its_start_report_still_records_a_start(job_id, backend):
    """If 'completed' overtakes 'started', the job still gets a started_at (from the run's duration) before completed_at."""
    client = function_client("dispatcher")
    _post(client, _submitted_event(job_id))
    done = _executor_event(job_id, catalog.JOB_COMPLETED, {"result": 1, "result_ref": None, "steps": 2, "duration_ms": 250.0})
    assert _post(client, done).status_code == 200
    with session_scope() as s:
        job = s.get(Job, job_id)
        assert job.status == "completed" and job.started_at is not None and job.started_at < job.completed_at


def test_a_late_start_report_backdates_started_at_by_its_running_time(job_id, backend):
    """job.started comes after the run has gone on a while: started_at is running_ms before its arrival."""
    from datetime import timedelta

    from boardrun.db import utcnow

    client = function_client("dispatcher")
    _post(client, _submitted_event(job_id))
    before = utcnow()
    assert _post(client, _executor_event(job_id, catalog.JOB_STARTED, {"attempt": 1, "running_ms": 60_000.0})).status_code == 200
    with session_scope() as s:
        job = s.get(Job, job_id)
        assert job.status == "running" and job.started_at <= before - timedelta(seconds=59)


def _event_batch(job_id: str, first: int, messages: list[str], token: str | None = None, end: bool = False) -> Event:
    items = [{"kind": "log", "level": "Info", "message": m, "node_id": "n", "node_name": "log_info"} for m in messages]
    if end:  # the executor's end marker closes its last batch
        items.append({"kind": "end", "data": {"events": first + len(messages) - 1}})
    return _executor_event(job_id, catalog.JOB_EVENTS, {"first_seq": first, "events": items}, token)


def _sse_blocks(api, owner, job_id: str, last_id: str) -> list[str]:
    """The event and status blocks GET /jobs/{id}/events serves after Last-Event-ID."""
    body = api.get(f"/jobs/{job_id}/events", headers={**owner["headers"], "Last-Event-ID": last_id}).get_data(as_text=True)
    return [b for b in body.split("\n\n") if b.startswith(("id:", "event:"))]


def test_stream_events_are_stored_once_in_order(job_id, backend, api, owner):
    """Event batches are stored under the executor's numbers: a redelivered or overlapping batch adds
    nothing twice, a batch delivered late still lands in its place, and GET /jobs/{id}/events serves
    them in order (resuming after Last-Event-ID), then the final status once the end marker is in."""
    client = function_client("dispatcher")
    late = _event_batch(job_id, 3, ["c"], end=True)
    assert _post(client, late).status_code == 200
    done = _executor_event(job_id, catalog.JOB_COMPLETED, {"result": 1, "result_ref": None, "steps": 2})
    assert _post(client, done).status_code == 200
    first = _event_batch(job_id, 1, ["a", "b"])
    assert _post(client, first).status_code == 200
    assert _post(client, first).get_json()["status"] == "duplicate"
    assert _post(client, _event_batch(job_id, 2, ["b", "c"])).status_code == 200

    def stream(last_id: str) -> list[str]:
        return _sse_blocks(api, owner, job_id, last_id)

    blocks = stream("0")
    assert [b.splitlines()[0] for b in blocks] == ["id: 1", "id: 2", "id: 3", "event: status"]
    assert '"message":"b"' in blocks[1] and '"message":"c"' in blocks[2] and '"status":"completed"' in blocks[3]
    assert [b.splitlines()[0] for b in stream("2")] == ["id: 3", "event: status"]
    assert [b.splitlines()[0] for b in stream("4")] == ["event: status"]


def test_forged_or_malformed_event_batches_are_refused(job_id, backend):
    """A batch signed with another job's token, or not matching its schema, is a permanent 422."""
    client = function_client("dispatcher")
    forged = _event_batch(job_id, 1, ["x"], token=signing.job_token("job-other"))
    assert _post(client, forged).status_code == 422
    bad = _executor_event(job_id, catalog.JOB_EVENTS, {"first_seq": 0, "events": []})
    assert _post(client, bad).status_code == 422
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(JobEvent)) == 0


def test_a_terminal_report_stores_the_stream_batch_it_carries_with_the_status(job_id, backend, api, owner):
    """A completion carrying the stream's last batch (last_events) stores those events in the same
    transaction as the status: the stream is complete the moment the job is."""
    client = function_client("dispatcher")
    batch = _event_batch(job_id, 1, ["a"], end=True).data
    done = _executor_event(job_id, catalog.JOB_COMPLETED, {"result": 1, "result_ref": None, "steps": 2, "last_events": batch})
    assert _post(client, done).status_code == 200
    with session_scope() as s:
        assert [(e.seq, e.kind) for e in s.scalars(select(JobEvent).where(JobEvent.job_id == job_id).order_by(JobEvent.seq))] == [(1, "log"), (2, "end")]
    assert [b.splitlines()[0] for b in _sse_blocks(api, owner, job_id, "0")] == ["id: 1", "event: status"]
    bad = _executor_event(job_id, catalog.JOB_FAILED, {"error": {"code": "node_error", "message": "x"},
                                                      "last_events": {"job_id": job_id, "first_seq": 0, "events": []}})
    assert _post(client, bad).status_code == 422  # the carried batch is held to the job.events schema


def test_a_terminal_report_carrying_another_jobs_stream_batch_is_refused(job_id, backend):
    """The batch a report carries must be the reporting job's own (its signature vouches for that
    job only): one naming another job is a permanent 422, and neither the status nor the events
    are written."""
    client = function_client("dispatcher")
    batch = {**_event_batch(job_id, 1, ["a"], end=True).data, "job_id": "job-other"}
    done = _executor_event(job_id, catalog.JOB_COMPLETED, {"result": 1, "result_ref": None, "steps": 2,
                                                          "last_events": batch})
    r = _post(client, done)
    assert r.status_code == 422 and "last_events" in r.get_json()["error"]["message"]
    assert _status(job_id) != "completed"
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(JobEvent)) == 0
