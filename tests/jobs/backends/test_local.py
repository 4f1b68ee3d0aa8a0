"""The local backend's view of an executor's end: a real executor process, started by the
backend, either sent its outcome report (the status write is that report's) or could not
(the exit handling must apply the stored outcome itself). And its spare executor, forked
ahead of the next job."""

from __future__ import annotations

import json
import os
import queue
import sys
import time

import pytest

from boardrun import services
from boardrun.jobs import signing
from boardrun.jobs.backends.base import LaunchSpec, RunnerPhase, RunnerStatus
from boardrun.jobs.backends.local import LocalBackend
from boardrun.storage import get_storage
from boardrun.testing.boards import echo_board
from tests.conftest import free_port
from tests.jobs.test_dispatcher import _Sink


@pytest.fixture
def storage(monkeypatch, tmp_path):
    """Files only: the backend and its executors use no database."""
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("STORAGE_URL", f"file://{tmp_path / 'storage'}")
    services.reset()
    return get_storage()


def _spec(storage, job_id: str, sink_url: str) -> LaunchSpec:
    """One job of the echo board, its files stored, reporting to `sink_url`."""
    storage.put(f"jobs/{job_id}/board.json", json.dumps(echo_board()).encode())
    spec = {"job_id": job_id, "app_id": "app-1", "board_key": f"jobs/{job_id}/board.json", "node_id": "start",
            "payload": {"n": 1}, "variables": {}, "deadline_seconds": 60}
    storage.put(f"jobs/{job_id}/spec.json", json.dumps(spec).encode())
    return LaunchSpec(
        job_id=job_id, attempt=1, app_id="app-1", board_id="echo", deadline_seconds=60,
        env={"JOB_ID": job_id, "JOB_SPEC_KEY": f"jobs/{job_id}/spec.json", "STORAGE_URL": os.environ["STORAGE_URL"],
             "K_SINK": sink_url},
        secret_env={"JOB_TOKEN": signing.job_token(job_id)},
    )


def _run(storage, job_id: str, sink_url: str) -> RunnerStatus:
    """Launch one job on a real local backend; the status its exit reported."""
    exits: queue.Queue[RunnerStatus] = queue.Queue()
    backend = LocalBackend(max_concurrent=1, on_exit=exits.put)
    try:
        backend.launch(_spec(storage, job_id, sink_url))
        return exits.get(timeout=60)
    finally:
        backend.close()


def _spare(backend: LocalBackend, other_than=None):
    """The spare the backend's maker thread forks (it has no event to wait on: polled)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        spare = backend._spare
        if spare is not None and spare is not other_than:
            return spare
        time.sleep(0.01)
    raise AssertionError("no spare executor was forked")


def test_an_executor_whose_report_went_out_ends_reported(storage):
    """The sink accepted the completion: exit 0, a succeeded runner marked reported."""
    sink = _Sink()
    try:
        status = _run(storage, "job-local-reported", sink.url)
    finally:
        sink.server.shutdown()
    assert (status.phase, status.reported) == (RunnerPhase.SUCCEEDED, True)
    assert [e.type for e in sink.events] == ["dev.boardrun.job.completed"]


def test_an_executor_that_could_not_send_its_report_ends_unreported(storage):
    """Nothing listens at K_SINK: the executor gives up on the report (exit 4), a succeeded
    runner not marked reported, and its outcome is stored for the exit handling to apply."""
    status = _run(storage, "job-local-unreported", f"http://127.0.0.1:{free_port()}/")
    assert (status.phase, status.reported) == (RunnerPhase.SUCCEEDED, False)
    stored = json.loads(storage.get("jobs/job-local-unreported/outcome.json"))
    assert stored["type"] == "dev.boardrun.job.completed"


def test_the_next_job_runs_in_the_spare_forked_ahead_of_it(storage):
    """prestart forks a spare; the next job is handed to it and runs there as its own (its
    environment, its report), a new spare is forked for the job after, and close ends that
    idle one."""
    sink = _Sink()
    exits: queue.Queue[RunnerStatus] = queue.Queue()
    backend = LocalBackend(max_concurrent=1, on_exit=exits.put)
    try:
        backend.prestart()
        spare = _spare(backend)
        backend.launch(_spec(storage, "job-local-spare", sink.url))
        assert backend._active["job-local-spare"].proc is spare.proc
        status = exits.get(timeout=60)
        after = _spare(backend, other_than=spare)
    finally:
        backend.close()
        sink.server.shutdown()
    assert (status.phase, status.reported) == (RunnerPhase.SUCCEEDED, True)
    assert [(e.type, e.data["job_id"], e.data["result"]) for e in sink.events] == [
        ("dev.boardrun.job.completed", "job-local-spare", {"n": 1})]
    assert after.proc.pid != spare.proc.pid and not after.proc.is_alive()


def _start_a_process_of_its_own(*job) -> None:
    """Stands in for the executor: exit 0 if it may start a child process, as a job might."""
    import multiprocessing

    child = multiprocessing.get_context("fork").Process(target=int)
    try:
        child.start()
    except AssertionError:  # "daemonic processes are not allowed to have children"
        sys.exit(1)
    child.join()
    sys.exit(child.exitcode)


def test_a_job_in_a_spare_may_start_processes_of_its_own(monkeypatch):
    """A spare is daemonic while idle; once it has its job it is not, so multiprocessing in the
    job (which refuses children of a daemonic process) works as in a cold-started executor."""
    import multiprocessing

    from boardrun.jobs.backends import local

    monkeypatch.setattr(local, "_executor_main", _start_a_process_of_its_own)  # (fork: the child sees it)
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    spare = ctx.Process(target=local._spare_main, args=(receive,), daemon=True)
    spare.start()
    receive.close()
    send.send(({}, None, "/", 0))
    send.close()
    spare.join(30)
    assert spare.exitcode == 0
