"""Recovery of the embedded server over real HTTP: a crash or a shutdown with jobs in
flight never leaves a job running forever, and the server works again after a restart."""

import os
import signal
from pathlib import Path

import pytest

from boardrun.testing.boards import echo_board
from tests.conftest import start_server, stop_server
from tests.jobs.conftest import Workspace, sign_in, slow_board

FAST_REPAIR = {"TICK_SECONDS": "0.3", "JOB_LOST_GRACE_SECONDS": "1", "JOB_REDISPATCH_AFTER_SECONDS": "1"}


@pytest.fixture
def server_env(env):
    return {
        "DATA_DIR": str(env["data_dir"]),
        "DATABASE_URL": env["database_url"],
        "STORAGE_URL": os.environ["STORAGE_URL"],
        **FAST_REPAIR,
    }


def _workspace(server) -> Workspace:
    client = server.client()
    headers = sign_in(client, "owner@example.com")
    app_id = client.post("/api/v1/apps", json={"name": "Recovery"}, headers=headers).json()["id"]
    ws = Workspace(client, headers, app_id)
    ws.put_board("echo", echo_board())
    ws.put_board("slow", slow_board(30))
    return ws


def _reattach(ws: Workspace, server) -> Workspace:
    return Workspace(server.client(), ws.headers, ws.app_id)


def _kill_hard(server) -> None:
    """SIGKILL the gunicorn master and its worker, as a crash or an OOM kill would."""
    master = server.proc.pid
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    for pid in [master, *map(int, children)]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    server.proc.wait(timeout=10)


def test_crash_mid_run_fails_the_job_as_lost_after_restart(server_env, env):
    """After a hard crash, the restarted server fails the orphaned running job (lost_runner) and runs new jobs."""
    first = start_server(server_env, env["tmp_path"] / "first.log")
    ws = _workspace(first)
    job_id = ws.submit("slow", payload={}).json()["job_id"]
    ws.wait(job_id, statuses=("running",))
    _kill_hard(first)

    second = start_server(server_env, env["tmp_path"] / "second.log")
    try:
        ws = _reattach(ws, second)
        job = ws.wait(job_id, timeout=20)
        assert job["status"] == "failed" and job["error"]["code"] == "lost_runner"
        r = ws.submit("echo", payload={"after": "restart"}, mode="sync")
        assert r.status_code == 200 and r.json()["result"] == {"after": "restart"}
    finally:
        stop_server(second)


def test_shutdown_mid_run_is_an_interruption_not_a_cancel(server_env, env):
    """A graceful shutdown stops running executors; their jobs end failed 'interrupted', never 'cancelled'."""
    first = start_server(server_env, env["tmp_path"] / "first.log")
    ws = _workspace(first)
    job_id = ws.submit("slow", payload={}).json()["job_id"]
    ws.wait(job_id, statuses=("running",))
    assert stop_server(first) == 0

    second = start_server(server_env, env["tmp_path"] / "second.log")
    try:
        job = _reattach(ws, second).wait(job_id, timeout=20)
        assert job["status"] == "failed" and job["error"]["code"] == "interrupted"
    finally:
        stop_server(second)


def test_crash_with_jobs_waiting_for_a_slot_runs_them_after_restart(server_env, env):
    """With one local slot, jobs accepted but still waiting for it when the server is killed are
    launched after the restart, in submission order, each with its own result; only the job
    that was running ends lost_runner."""
    one_slot = {**server_env, "JOB_CONCURRENCY": "1"}
    first = start_server(one_slot, env["tmp_path"] / "first.log")
    ws = _workspace(first)
    running = ws.submit("slow", payload={}).json()["job_id"]
    ws.wait(running, statuses=("running",))
    waiting = [ws.submit("echo", payload={"n": n}).json()["job_id"] for n in range(3)]
    assert all(ws.job(j)["status"] == "queued" for j in waiting)  # the slot is taken
    _kill_hard(first)

    second = start_server(one_slot, env["tmp_path"] / "second.log")
    try:
        ws = _reattach(ws, second)
        job = ws.wait(running, timeout=20)
        assert job["status"] == "failed" and job["error"]["code"] == "lost_runner"
        done = [ws.wait(j, timeout=30) for j in waiting]
        assert [(j["status"], j.get("result"), j.get("error")) for j in done] == [("completed", {"n": n}, None) for n in range(3)]
        starts = [j["started_at"] for j in done]
        assert starts == sorted(starts)  # one slot: each started after the one submitted before it
    finally:
        stop_server(second)
