"""The local backend's view of an executor's end: a real executor process, started by the
backend, either sent its outcome report (the status write is that report's) or could not
(the exit handling must apply the stored outcome itself)."""

from __future__ import annotations

import json
import queue

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


def _run(storage, job_id: str, sink_url: str) -> RunnerStatus:
    """Launch one job of the echo board on a real local backend; the status its exit reported."""
    import os

    storage.put(f"jobs/{job_id}/board.json", json.dumps(echo_board()).encode())
    spec = {"job_id": job_id, "app_id": "app-1", "board_key": f"jobs/{job_id}/board.json", "node_id": "start",
            "payload": {"n": 1}, "variables": {}, "deadline_seconds": 60}
    storage.put(f"jobs/{job_id}/spec.json", json.dumps(spec).encode())
    exits: queue.Queue[RunnerStatus] = queue.Queue()
    backend = LocalBackend(max_concurrent=1, on_exit=exits.put)
    try:
        backend.launch(LaunchSpec(
            job_id=job_id, attempt=1, app_id="app-1", board_id="echo", deadline_seconds=60,
            env={"JOB_ID": job_id, "JOB_SPEC_KEY": f"jobs/{job_id}/spec.json", "STORAGE_URL": os.environ["STORAGE_URL"],
                 "K_SINK": sink_url},
            secret_env={"JOB_TOKEN": signing.job_token(job_id)},
        ))
        return exits.get(timeout=60)
    finally:
        backend.close()


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
