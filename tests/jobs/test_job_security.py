"""Security of the jobs pipeline: what callers and executors can make the API and the
dispatcher do with crafted cursors, replayed commands, foreign result references and
floods of progress reports."""

# ruff: noqa: F811 - pytest fixtures arrive as parameters of the names imported above
from __future__ import annotations

import base64
import json

from sqlalchemy import func, select

from boardrun import services
from boardrun.db import session_scope
from boardrun.eventing import catalog
from boardrun.eventing.cloudevents_adapter import Event
from boardrun.jobs.backends import set_backend
from boardrun.jobs.models import DeadLetter, Job
from boardrun.storage import get_storage
from tests.conftest import function_client, register_and_login

# The dispatcher tests' fixtures (a recording backend, a submitted job) and helpers.
from tests.jobs.test_dispatcher import (  # noqa: F401 - backend, job_id and owner are fixtures
    _executor_event,
    _post,
    _signed,
    _status,
    _submitted_event,
    backend,
    job_id,
    owner,
)


def test_a_deep_jobs_cursor_is_422_not_500(api):
    """Regression: a base64 cursor of 2,500 `[` on GET /jobs raised RecursionError (500)."""
    h = register_and_login(api)["headers"]
    app = api.post("/api/v1/apps", json={"name": "A"}, headers=h).get_json()["id"]
    cursor = base64.urlsafe_b64encode(b"[" * 2500).decode().rstrip("=")
    r = api.get("/jobs", query_string={"app_id": app, "cursor": cursor}, headers=h)
    assert r.status_code == 422, r.get_data(as_text=True)
    assert r.get_json()["error"]["details"][0]["field"] == "cursor"


# -- dead letters and result references ------------------------------------------
def _dead(event: Event) -> Event:
    return event.with_extensions(knativeerrorcode="500", knativeerrordest="http://dispatcher/events")


def _dead_letters() -> int:
    with session_scope() as s:
        return s.scalar(select(func.count()).select_from(DeadLetter))


def _second_job(api, job_id, owner) -> str:
    with session_scope() as s:
        app_id = s.get(Job, job_id).app_id
    r = api.post("/jobs/submit", json={"app_id": app_id, "board_id": "echo", "payload": {"secret": "of job two"}}, headers=owner["headers"])
    assert r.status_code == 202
    return r.get_json()["job_id"]


def test_a_replayed_submission_on_the_dead_letter_sink_does_not_fail_a_running_job(job_id, backend):
    """Regression: a captured job.submitted posted to /events/dead-letter after it had
    been delivered failed the running job as `undeliverable`. An event that was
    processed is no dead letter; nothing is stored and the job runs on."""
    client = function_client("dispatcher")
    event = _submitted_event(job_id)
    assert _post(client, event).get_json()["status"] == "launched"
    assert _post(client, _executor_event(job_id, catalog.JOB_STARTED, {"attempt": 1})).status_code == 200
    r = _post(client, _dead(event), "/events/dead-letter")
    assert r.status_code == 200 and r.get_json()["status"] == "already processed"
    assert _status(job_id) == "running" and _dead_letters() == 0


def test_a_dead_lettered_submission_fails_only_a_job_still_waiting_for_it(job_id, backend):
    """A job the reconcile launched meanwhile (its job.submitted was never processed) is
    not failed by that event's dead letter, which is still kept for operators."""
    from datetime import timedelta

    from boardrun.jobs.repairs import reconcile

    with session_scope() as s:
        s.get(Job, job_id).created_at -= timedelta(minutes=5)
    assert reconcile() == 1 and backend.launched == [job_id]
    r = _post(function_client("dispatcher"), _dead(_submitted_event(job_id)), "/events/dead-letter")
    assert r.status_code == 200 and r.get_json()["status"] == "recorded"
    assert _status(job_id) == "queued" and _dead_letters() == 1


def test_a_dead_lettered_cancel_fails_only_a_job_whose_cancel_is_pending(job_id, backend):
    """A cancel request for a job nobody asked to cancel (a forged-looking but validly
    signed replay from another context) changes nothing."""
    cancel = _signed(Event(catalog.JOB_CANCEL_REQUESTED, catalog.JOBS_SOURCE, {"job_id": job_id}, extensions={"jobid": job_id}))
    r = _post(function_client("dispatcher"), _dead(cancel), "/events/dead-letter")
    assert r.status_code == 200 and _status(job_id) == "queued"


def test_unsigned_dead_letters_are_not_stored(job_id, backend):
    """Regression: anyone could write unbounded rows (20 unauthenticated 500 KB posts were
    all kept). Only verifiable job events are stored; the rest is logged and dropped."""
    client = function_client("dispatcher")
    for n in range(20):
        event = Event("com.example.junk", "/attacker", {"blob": "x" * 100_000}, id=f"junk-{n}")
        r = _post(client, _dead(event), "/events/dead-letter")
        assert r.status_code == 200 and r.get_json()["status"] == "not stored: not a signed job event"
    forged = Event(catalog.JOB_SUBMITTED, catalog.JOBS_SOURCE, _submitted_event(job_id).data, extensions={"jobid": job_id})
    assert _post(client, _dead(forged), "/events/dead-letter").status_code == 200
    assert _dead_letters() == 0 and _status(job_id) == "queued"


def test_a_result_reference_outside_the_jobs_own_prefix_is_refused(api, job_id, backend, owner):
    """Regression: a job.completed signed with one job's own token could point result_ref
    at jobs/<another job>/spec.json, and GET /jobs/<own> then showed that job's payload.
    The report is refused (422) and the job is unchanged."""
    other = _second_job(api, job_id, owner)
    client = function_client("dispatcher")
    for key in (f"jobs/{other}/spec.json", f"jobs/{job_id}/../{other}/spec.json", "apps/x/boards/y.json"):
        forged = _executor_event(job_id, catalog.JOB_COMPLETED, {"result_ref": {"key": key, "size_bytes": 10}, "steps": 1})
        r = _post(client, forged)
        assert r.status_code == 422 and "result_ref" in r.get_json()["error"]["message"], r.get_data(as_text=True)
    assert _status(job_id) == "queued"


def test_a_stored_outcome_with_a_foreign_reference_is_no_outcome(api, job_id, backend, owner):
    """The outcome file the executor stores is checked the same way: one pointing at
    another job's files does not complete the job (it ends lost_runner)."""
    from boardrun.jobs.backends.base import RunnerPhase, RunnerStatus
    from boardrun.jobs.dispatcher import on_runner_exit

    other = _second_job(api, job_id, owner)
    _post(function_client("dispatcher"), _submitted_event(job_id))
    outcome = {"type": catalog.JOB_COMPLETED, "data": {"job_id": job_id, "steps": 1, "result_ref": {"key": f"jobs/{other}/spec.json", "size_bytes": 10}}}
    get_storage().put(f"jobs/{job_id}/outcome.json", json.dumps(outcome).encode())
    on_runner_exit(RunnerStatus(job_id, RunnerPhase.SUCCEEDED))
    with session_scope() as s:
        job = s.get(Job, job_id)
        assert job.status == "failed" and job.result_ref is None


def _exit_with_stored_outcome(job_id: str, last_events: dict, *, reported: bool = False) -> tuple[str, list[str]]:
    """Launch the job, store a completed outcome carrying `last_events`, report its executor's exit
    (the event has not come: it was never sent, or is on its way if `reported`); the job's status
    and the kinds of the stream events stored."""
    from sqlalchemy import select

    from boardrun.jobs.backends.base import RunnerPhase, RunnerStatus
    from boardrun.jobs.dispatcher import on_runner_exit
    from boardrun.jobs.models import JobEvent

    _post(function_client("dispatcher"), _submitted_event(job_id))
    outcome = {"type": catalog.JOB_COMPLETED, "data": {"job_id": job_id, "steps": 1, "result": 7, "result_ref": None, "last_events": last_events}}
    get_storage().put(f"jobs/{job_id}/outcome.json", json.dumps(outcome).encode())
    on_runner_exit(RunnerStatus(job_id, RunnerPhase.SUCCEEDED, reported=reported))
    with session_scope() as s:
        kinds = list(s.scalars(select(JobEvent.kind).where(JobEvent.job_id == job_id).order_by(JobEvent.seq)))
        return s.get(Job, job_id).status, kinds


def test_the_stream_batch_in_a_stored_outcome_is_stored_by_the_exit_repair_when_well_formed(job_id, backend):
    """The executor exited before its completion was delivered: the repair reads the stored outcome,
    completes the job and stores the stream batch it carries."""
    batch = {"job_id": job_id, "first_seq": 1, "events": [{"kind": "log", "message": "hi"}, {"kind": "end", "data": {"events": 1}}]}
    assert _exit_with_stored_outcome(job_id, batch) == ("completed", ["log", "end"])


def test_an_exit_after_its_report_went_out_leaves_the_status_to_that_report(job_id, backend):
    """An executor that exits saying its outcome report was accepted (exit 0 or 3) is not
    settled from its stored outcome at once: the report, still in the broker, writes the status
    (and the reconcile applies the stored outcome should it be lost)."""
    batch = {"job_id": job_id, "first_seq": 1, "events": [{"kind": "end", "data": {"events": 0}}]}
    assert _exit_with_stored_outcome(job_id, batch, reported=True) == ("queued", [])


def test_a_malformed_stream_batch_in_a_stored_outcome_is_dropped(job_id, backend):
    """A stored outcome whose batch names another job is held to the event's checks: the job
    completes, no event is stored."""
    other = {"job_id": "job-other", "first_seq": 1, "events": [{"kind": "end", "data": {"events": 0}}]}
    assert _exit_with_stored_outcome(job_id, other) == ("completed", [])


def test_an_off_schema_stream_batch_in_a_stored_outcome_is_dropped(job_id, backend):
    """The same for a batch off the job.events schema (numbered from 0, no events)."""
    assert _exit_with_stored_outcome(job_id, {"job_id": job_id, "first_seq": 0, "events": []}) == ("completed", [])


def test_a_foreign_result_reference_already_stored_is_never_read(api, job_id, backend, owner):
    """A row written before this check existed: GET /jobs/<own> does not show the other
    job's files (the result is withheld)."""
    other = _second_job(api, job_id, owner)
    with session_scope() as s:
        job = s.get(Job, job_id)
        job.status, job.result_ref = "completed", f"jobs/{other}/spec.json"
    for path in (f"/jobs/{job_id}", f"/api/v1/execution/{job_id}"):
        r = api.get(path, headers=owner["headers"])
        assert r.status_code == 200 and "of job two" not in r.get_data(as_text=True)
        assert r.get_json()["result"] is None


# -- progress reports ---------------------------------------------------------------


def _run_executor(env, tmp_path, board: dict, payload, extra_env: dict[str, str] | None = None):
    """Run the real executor (`python -m boardrun.executor.run`) on a board, its events
    going to a real CloudEvents sink on 127.0.0.1; returns (exit code, events)."""
    import os
    import subprocess
    import sys

    from boardrun.jobs import signing
    from tests.conftest import ROOT
    from tests.jobs.test_dispatcher import _Sink

    job = "job-" + tmp_path.name[-20:].replace("_", "-")
    storage = get_storage()
    storage.put(f"jobs/{job}/board.json", json.dumps(board).encode())
    spec = {"job_id": job, "app_id": "app-1", "board_key": f"jobs/{job}/board.json", "node_id": "start", "payload": payload, "variables": {}, "deadline_seconds": 60}
    storage.put(f"jobs/{job}/spec.json", json.dumps(spec).encode())
    sink = _Sink()
    try:
        child_env = {
            "PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "STORAGE_URL": os.environ["STORAGE_URL"],
            "K_SINK": sink.url, "JOB_ID": job, "JOB_SPEC_KEY": f"jobs/{job}/spec.json", "JOB_TOKEN": signing.job_token(job),
            **(extra_env or {}),
        }
        proc = subprocess.run([sys.executable, "-m", "boardrun.executor.run"], env=child_env, cwd=tmp_path, capture_output=True, timeout=120)
    finally:
        sink.server.shutdown()
    return proc, job, sink.events


def _progress_board(steps: int) -> dict:
    """events_generic → for each element of the payload: log_progress → then progress done → return."""
    from boardrun.testing.boards import BoardBuilder

    b = BoardBuilder()
    start = b.add("events_generic", "start")
    loop = b.add("control_for_each", "loop")
    step = b.add("log_progress", "step")
    done = b.add("log_progress_done", "finish")
    ret = b.add("events_generic_return_result", "ret")
    b.connect(start, "exec_out", loop, "exec_in")
    b.connect(start, "payload", loop, "array")
    b.connect(loop, "exec_out", step, "exec_in")
    b.connect(loop, "index", step, "progress")
    b.connect(loop, "done", done, "exec_in")
    b.connect(done, "exec_out", ret, "exec_in")
    b.set_default(ret, "response", "ok")
    return b.build()


def test_progress_reports_are_coalesced_and_the_last_one_is_delivered(env, tmp_path):
    """Regression: 1,500 log_progress steps made 1,025 signed deliveries (every progress
    report was sent at once). At most one goes out per JOB_PROGRESS_INTERVAL_SECONDS,
    and the newest state is sent before the outcome."""
    proc, job, events = _run_executor(env, tmp_path, _progress_board(1500), list(range(1500)), {"JOB_PROGRESS_INTERVAL_SECONDS": "60"})
    assert proc.returncode == 0, [e.data for e in events if e.type == catalog.JOB_FAILED]
    kinds = [e.type for e in events]
    progress = [e for e in events if e.type == catalog.JOB_PROGRESS]
    assert len(progress) == 2, kinds  # the first at once, the newest before the outcome
    assert progress[-1].data["node_id"] == "finish"
    assert kinds[-1] == catalog.JOB_COMPLETED
    # The first progress report says the job runs: no start report follows it.
    assert catalog.JOB_STARTED not in kinds[kinds.index(catalog.JOB_PROGRESS):], kinds


def test_a_short_run_sends_one_event_its_outcome_with_the_stream_end(env, tmp_path):
    """A run shorter than STARTED_REPORT_DELAY sends no start report and no separate event batch:
    its completion is its only event and carries the stream's last batch, ending with the end marker."""
    from boardrun.testing.boards import echo_board

    proc, job, events = _run_executor(env, tmp_path, echo_board(), {"n": 1})
    assert proc.returncode == 0, proc.stderr
    assert [e.type for e in events] == [catalog.JOB_COMPLETED]
    last = events[0].data["last_events"]
    assert last["job_id"] == job and last["first_seq"] == 1
    assert [item["kind"] for item in last["events"]] == ["end"] and last["events"][0]["data"] == {"events": 0}


def test_a_run_whose_outcome_report_cannot_be_sent_says_so_by_its_exit_code(env, tmp_path):
    """No broker answers: the executor stores its outcome, gives up on the report after its
    retries and exits EXIT_UNREPORTED, so the local backend applies the stored outcome at once."""
    from boardrun.executor import EXIT_UNREPORTED
    from boardrun.testing.boards import echo_board
    from tests.conftest import free_port

    proc, job, events = _run_executor(env, tmp_path, echo_board(), {"n": 1}, {"K_SINK": f"http://127.0.0.1:{free_port()}/"})
    assert proc.returncode == EXIT_UNREPORTED, proc.stderr
    stored = json.loads(get_storage().get(f"jobs/{job}/outcome.json"))
    assert stored["type"] == catalog.JOB_COMPLETED and stored["data"]["result"] == {"n": 1}


def test_a_longer_run_reports_its_start_with_how_long_it_has_run(env, tmp_path):
    """A run still going after STARTED_REPORT_DELAY, with no progress report, sends job.started,
    saying how long it had been running (the dispatcher backdates started_at by that)."""
    from boardrun.executor.run import STARTED_REPORT_DELAY
    from boardrun.testing.boards import BoardBuilder

    b = BoardBuilder()
    start = b.add("events_generic", "start")
    wait = b.add("delay", "wait")
    ret = b.add("events_generic_return_result", "ret")
    b.connect(start, "exec_out", wait, "exec_in")
    b.connect(wait, "exec_out", ret, "exec_in")
    b.set_default(wait, "time", 600.0)
    b.set_default(ret, "response", "ok")
    proc, job, events = _run_executor(env, tmp_path, b.build(), {})
    assert proc.returncode == 0, [e.data.get("error") or e.data.get("message") for e in events]
    assert [e.type for e in events] == [catalog.JOB_STARTED, catalog.JOB_COMPLETED]
    assert events[0].data["running_ms"] >= STARTED_REPORT_DELAY * 1000


def test_a_completion_with_a_result_over_the_cap_fails_the_job(job_id, backend, monkeypatch):
    """A signed completion whose stored result is larger than JOB_MAX_RESULT_BYTES (an
    executor with another limit) fails the job `result_too_large` instead of completing it."""
    monkeypatch.setenv("JOB_MAX_RESULT_BYTES", "1000")
    services.reset()
    set_backend(backend)
    get_storage().put(f"jobs/{job_id}/result.json", b'"' + b"x" * 5000 + b'"')
    done = _executor_event(job_id, catalog.JOB_COMPLETED, {"result_ref": {"key": f"jobs/{job_id}/result.json", "size_bytes": 5002}, "steps": 1})
    assert _post(function_client("dispatcher"), done).status_code == 200
    with session_scope() as s:
        job = s.get(Job, job_id)
        assert job.status == "failed" and job.error["code"] == "result_too_large"


def test_the_api_never_loads_a_result_over_the_cap(api, job_id, backend, owner, monkeypatch):
    """A stored result larger than JOB_MAX_RESULT_BYTES (the cap was lowered since) is
    not read into the API's memory: the record says it is withheld."""
    get_storage().put(f"jobs/{job_id}/result.json", b'"' + b"x" * 5000 + b'"')
    with session_scope() as s:
        job = s.get(Job, job_id)
        job.status, job.result_ref = "completed", f"jobs/{job_id}/result.json"
    assert len(api.get(f"/jobs/{job_id}", headers=owner["headers"]).get_json()["result"]) == 5000
    monkeypatch.setenv("JOB_MAX_RESULT_BYTES", "1000")
    services.reset()
    set_backend(backend)
    r = api.get(f"/jobs/{job_id}", headers=owner["headers"])
    assert r.status_code == 200 and r.get_json()["result"] is None and len(r.get_data()) < 2000
