"""The jobs pipeline end to end on the embedded server over real HTTP (SQLite and
PostgreSQL): submit → outbox → embedded broker → dispatcher → executor subprocess →
signed status events → GET /jobs/{id}."""

import signal
import time

from boardrun.testing.boards import BoardBuilder
from tests.jobs.conftest import failing_board, kill_executor, sign_in, slow_board


def test_async_submit_answers_202_then_completes(workspace):
    """Async submit answers exactly the spec's body with Location, and the job completes with its result."""
    r = workspace.submit("echo", payload={"key": "value"}, mode="async", version="latest")
    assert r.status_code == 202
    body = r.json()
    assert set(body) == {"job_id", "status"} and body["status"] == "queued" and body["job_id"].startswith("job-")
    assert r.headers["Location"] == f"/jobs/{body['job_id']}"
    job = workspace.wait(body["job_id"])
    assert job["status"] == "completed" and job["result"] == {"key": "value"}
    assert job["error"] is None and job["started_at"] and job["completed_at"] and job["created_at"]
    assert {"app_id", "board_id", "version", "mode", "attempt"} <= set(job) and job["version"] == "0.1.0"


def test_sync_submit_returns_the_final_record(workspace, server):
    """Sync mode waits for the job and answers 200 with the terminal record and result; the
    executor's start writes no warning into the server's output (the re-run of its main module)."""
    r = workspace.submit("echo", payload=[1, 2, 3], mode="sync")
    assert r.status_code == 200
    assert r.json()["status"] == "completed" and r.json()["result"] == [1, 2, 3]
    assert "RuntimeWarning" not in server.log()


def test_execution_endpoints_share_the_pipeline(workspace):
    """POST /api/v1/execution/run and GET /api/v1/execution/{id} run the same jobs, in run vocabulary."""
    r = workspace.client.post(
        "/api/v1/execution/run",
        json={"app_id": workspace.app_id, "board_id": "echo", "payload": {"x": 1}, "mode": "sync"},
        headers=workspace.headers,
    )
    assert r.status_code == 200 and r.json()["status"] == "Completed" and r.json()["result"] == {"x": 1}
    run_id = r.json()["run_id"]
    assert workspace.client.get(f"/api/v1/execution/{run_id}", headers=workspace.headers).json()["status"] == "Completed"
    assert workspace.job(run_id)["status"] == "completed"  # the same job


def test_failed_board_reports_node_error(workspace):
    """A node failure nobody handles fails the job with the node's id, name and message."""
    workspace.put_board("bad", failing_board())
    r = workspace.submit("bad", payload={}, mode="sync")
    assert r.status_code == 200
    job = r.json()
    assert job["status"] == "failed"
    assert job["error"]["code"] == "node_error" and job["error"]["node_id"] == "bad"
    assert "not valid JSON" in job["error"]["message"]


def test_unknown_app_board_or_version_is_404(workspace):
    """Unknown app, board or frozen version answers 404 naming which is missing (the version is
    looked up in one query, the board only when it finds none); a given version, in either
    spelling, runs that version; a malformed one is 422."""
    def code(r):
        assert r.status_code == 404, r.text
        return r.json()["error"]["code"]

    missing_app = workspace.client.post("/jobs/submit", json={"app_id": "app-nope", "board_id": "echo"},
                                        headers=workspace.headers)
    assert code(missing_app) == "app_not_found"
    assert code(workspace.submit("nope")) == "board_not_found"
    assert code(workspace.submit("nope", version="0.1.0")) == "board_not_found"
    r = workspace.submit("echo", version="9_9_9")
    assert code(r) == "version_not_found" and "no version 9.9.9" in r.json()["error"]["message"]
    workspace.put_board("unfrozen", slow_board(1), freeze=False)
    assert code(workspace.submit("unfrozen")) == "no_frozen_version"
    assert workspace.submit("echo", version="1.2").status_code == 422
    for spelling in ("0.1.0", "0_1_0"):
        r = workspace.submit("echo", version=spelling, payload=1, mode="sync")
        assert r.status_code == 200 and r.json()["version"] == "0.1.0" and r.json()["result"] == 1


def test_invalid_bodies_are_rejected(workspace, server):
    """Bad JSON 400, wrong fields 422 naming them, a board with problems 422, an oversized payload 413."""
    c, h = workspace.client, workspace.headers
    assert c.post("/jobs/submit", content=b"{", headers={**h, "Content-Type": "application/json"}).status_code == 400
    r = c.post("/jobs/submit", json={"app_id": workspace.app_id, "mode": "later", "extra": 1}, headers=h)
    assert r.status_code == 422
    assert {d["field"] for d in r.json()["error"]["details"]} == {"board_id", "mode", "extra"}
    assert workspace.submit("echo", payload="x" * (2 * 1024 * 1024)).status_code == 413
    broken = slow_board(1)
    broken["nodes"]["ret"]["name"] = "teleport"  # an unknown node type (a missing pin would be repaired on load)
    workspace.put_board("broken", broken)
    r = workspace.submit("broken", payload={})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_board" and r.json()["error"]["details"]


def test_idempotency_key_replays_and_conflicts(workspace, server):
    """The same key and body return the original job; the same key with another body is 409."""
    key = {"extra_headers": {"Idempotency-Key": "order-42"}}
    first = workspace.submit("echo", payload={"n": 1}, **dict(key))
    again = workspace.submit("echo", payload={"n": 1}, **dict(key))
    assert first.status_code == again.status_code == 202
    assert first.json()["job_id"] == again.json()["job_id"] and again.headers["Idempotent-Replayed"] == "true"
    assert workspace.submit("echo", payload={"n": 2}, **dict(key)).status_code == 409
    workspace.wait(first.json()["job_id"])


def test_cancel_during_a_run(workspace):
    """Cancelling a running job stops its executor and ends it cancelled; repeating is harmless."""
    workspace.put_board("slow", slow_board(30))
    job_id = workspace.submit("slow", payload={}).json()["job_id"]
    workspace.wait(job_id, statuses=("running",))
    started = time.monotonic()
    r = workspace.client.post(f"/jobs/{job_id}/cancel", headers=workspace.headers)
    assert r.status_code == 204
    job = workspace.wait(job_id)
    assert job["status"] == "cancelled" and time.monotonic() - started < 15
    assert workspace.client.post(f"/jobs/{job_id}/cancel", headers=workspace.headers).status_code == 204


def test_cancel_finished_job_is_409_and_unknown_404(workspace):
    """A completed job cannot be cancelled (409); an unknown job is 404."""
    job_id = workspace.submit("echo", payload={}, mode="sync").json()["job_id"]
    assert workspace.client.post(f"/jobs/{job_id}/cancel", headers=workspace.headers).status_code == 409
    assert workspace.client.post("/jobs/job-nope/cancel", headers=workspace.headers).status_code == 404


def test_killed_executor_fails_the_job_as_lost(workspace, server):
    """An executor killed with SIGKILL mid-run ends the job failed with reason lost_runner."""
    workspace.put_board("slow", slow_board(30))
    job_id = workspace.submit("slow", payload={}).json()["job_id"]
    workspace.wait(job_id, statuses=("running",))
    kill_executor(server, job_id)
    job = workspace.wait(job_id, timeout=15)
    assert job["status"] == "failed" and job["error"]["code"] == "lost_runner"


def test_deadline_ends_the_job_as_timeout(workspace):
    """A run past its deadline_seconds fails with code timeout."""
    workspace.put_board("slow", slow_board(30))
    job = workspace.submit("slow", payload={}, deadline_seconds=3, mode="sync").json()
    if job["status"] not in ("failed",):
        job = workspace.wait(job["job_id"], timeout=20)
    assert job["status"] == "failed" and job["error"]["code"] == "timeout"


def test_other_users_and_anonymous_callers(workspace):
    """Anonymous callers get 401; another user cannot see, submit to or cancel this app's jobs (404)."""
    job_id = workspace.submit("echo", payload={}, mode="sync").json()["job_id"]
    c = workspace.client
    assert c.get(f"/jobs/{job_id}").status_code == 401
    assert c.post("/jobs/submit", json={"app_id": workspace.app_id, "board_id": "echo"}).status_code == 401
    other = sign_in(c, "other@example.com")
    assert c.get(f"/jobs/{job_id}", headers=other).status_code == 404
    assert c.post(f"/jobs/{job_id}/cancel", headers=other).status_code == 404
    assert c.post("/jobs/submit", json={"app_id": workspace.app_id, "board_id": "echo"}, headers=other).status_code == 404


def test_server_shuts_down_cleanly_with_running_jobs(workspace, server):
    """SIGTERM with a job running stops its executor and exits 0."""
    workspace.put_board("slow", slow_board(30))
    job_id = workspace.submit("slow", payload={}).json()["job_id"]
    workspace.wait(job_id, statuses=("running",))
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=30) == 0


def test_list_and_logs(workspace):
    """GET /jobs lists an app's jobs newest first in keyset pages (status filter); GET /jobs/{id}/logs returns the run's stored lines."""
    from boardrun.testing.boards import BoardBuilder

    b = BoardBuilder()
    start = b.add("events_generic", "start")
    info = b.add("log_info", "say", message="hello from the board")
    ret = b.add("events_generic_return_result", "ret")
    b.connect(start, "exec_out", info, "exec_in")
    b.connect(info, "exec_out", ret, "exec_in")
    b.connect(start, "payload", ret, "response")
    workspace.put_board("talk", b.build())
    ids = [workspace.submit("talk", payload={"n": n}, mode="sync").json()["job_id"] for n in range(3)]
    c, h = workspace.client, workspace.headers

    first = c.get("/jobs", params={"app_id": workspace.app_id, "limit": 2}, headers=h).json()
    second = c.get("/jobs", params={"app_id": workspace.app_id, "limit": 2, "cursor": first["next_cursor"]}, headers=h).json()
    listed = [j["job_id"] for j in first["jobs"] + second["jobs"]]
    assert listed == list(reversed(ids)) and second["next_cursor"] is None
    assert "result" not in first["jobs"][0]
    assert c.get("/jobs", params={"app_id": workspace.app_id, "status": "failed"}, headers=h).json()["jobs"] == []
    assert c.get("/jobs", params={"app_id": workspace.app_id, "status": "done"}, headers=h).status_code == 422
    assert c.get("/jobs", params={"app_id": workspace.app_id, "cursor": "garbage"}, headers=h).status_code == 422
    assert c.get("/jobs", headers=h).status_code == 422
    other = sign_in(c, "stranger@example.com")
    assert c.get("/jobs", params={"app_id": workspace.app_id}, headers=other).status_code == 404

    log = c.get(f"/jobs/{ids[0]}/logs", headers=h).json()
    assert log["complete"] is True and any("hello from the board" in (line.get("message") or "") for line in log["lines"])
    assert c.get(f"/jobs/{ids[0]}/logs", headers=other).status_code == 404


def test_the_run_executes_for_the_submitting_user(workspace):
    """A job's board sees the submitting user's id and role on the app (Utils/User nodes)."""
    b = BoardBuilder()
    start = b.add("events_simple", "start")
    who = b.add("utils_user_get_executing_user", "who")
    may = b.add("utils_user_has_permission", "may", permission="Write Boards")
    pack = b.add("struct_make_from_schema", "pack")
    for name, node, pin in (("user", who, "user_context"), ("may", may, "has_permission")):
        b.link(b.pin_id(node, pin, "Output"), b.add_pin(pack, name, "Input", "Generic"))
    ret = b.add("events_generic_return_result", "ret")
    b.chain(start, ret)
    b.connect(pack, "struct_out", ret, "response")
    workspace.put_board("whoami", b.build())
    me = workspace.client.get("/api/v1/user", headers=workspace.headers).json()
    r = workspace.submit("whoami", mode="sync")
    assert r.status_code == 200 and r.json()["status"] == "completed", r.text
    result = r.json()["result"]
    assert result["may"] is True  # the app's creator is its Owner
    user = result["user"]
    assert user["sub"] == me["id"] and user["isTechnicalUser"] is False and user["keyId"] is None
    assert (user["role"]["name"], user["role"]["permissions"], user["role"]["attributes"]) == ("Owner", 1, [])


def test_a_concurrent_burst_loses_nothing(workspace, server):
    """24 jobs submitted at once from 4 clients (sync and async mixed, more than
    JOB_CONCURRENCY at a time): every accepted job ends completed with its own payload as
    its result, under its own id."""
    from concurrent.futures import ThreadPoolExecutor

    def submit(n: int) -> tuple[int, str]:
        with server.client() as client:
            mode = "sync" if n % 4 == 0 else "async"
            r = client.post("/jobs/submit", json={"app_id": workspace.app_id, "board_id": "echo", "payload": {"n": n},
                                                  "mode": mode}, headers=workspace.headers)
            assert r.status_code in (200, 202), r.text
            return n, r.json()["job_id"]

    with ThreadPoolExecutor(4) as pool:
        submitted = list(pool.map(submit, range(24)))
    assert len({job_id for _, job_id in submitted}) == 24
    for n, job_id in submitted:
        job = workspace.wait(job_id, timeout=120)
        assert (job["status"], job["result"]) == ("completed", {"n": n}), job
