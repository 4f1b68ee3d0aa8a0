"""Memory, result and log limits of the executor, end to end through the embedded
server: a board that builds a huge value fails with a clear code, and the API never
loads a huge result."""

from __future__ import annotations

import pytest

from tests.conftest import start_server, stop_server
from boardrun.testing.boards import BoardBuilder
from tests.jobs.conftest import Workspace, sign_in


def template_board(template: str) -> dict:
    """events_generic → return the rendering of a Jinja template."""
    b = BoardBuilder()
    start = b.add("events_generic", "start")
    render = b.add("string_render_template", "render", template=template)
    ret = b.add("events_generic_return_result", "ret")
    b.connect(start, "exec_out", ret, "exec_in")
    b.connect(render, "rendered", ret, "response")
    return b.build()


def log_board(lines: int, size: int) -> dict:
    """events_generic → for each element of the payload: log a line of `size` characters → return "ok"."""
    b = BoardBuilder()
    start = b.add("events_generic", "start")
    loop = b.add("control_for_each", "loop")
    line = b.add("log_info", "line", message="y" * size)
    ret = b.add("events_generic_return_result", "ret")
    b.connect(start, "exec_out", loop, "exec_in")
    b.connect(start, "payload", loop, "array")
    b.connect(loop, "exec_out", line, "exec_in")
    b.connect(loop, "done", ret, "exec_in")
    b.set_default(ret, "response", "ok")
    return b.build()


@pytest.fixture
def limited(env):
    """The embedded server with small limits: 512 MiB per executor, 100 kB results, 20 kB logs."""
    import os

    srv = start_server(
        {
            "DATA_DIR": str(env["data_dir"]), "DATABASE_URL": env["database_url"], "STORAGE_URL": os.environ["STORAGE_URL"],
            "JOB_MEMORY_LIMIT_MB": "512", "JOB_MAX_RESULT_BYTES": "100000", "JOB_MAX_LOG_BYTES": "20000",
        },
        env["tmp_path"] / "server.log",
    )
    client = srv.client()
    headers = sign_in(client, "limits@example.com")
    ws = Workspace(client, headers, client.post("/api/v1/apps", json={"name": "Limits"}, headers=headers).json()["id"])
    yield ws
    client.close()
    stop_server(srv)


def test_a_huge_template_fails_the_job_with_memory_limit(limited):
    """Regression: {{ 'x' * 300000000 }} completed with a 1.2 GiB executor and a 300 MB
    result that the API then loaded whole. Under JOB_MEMORY_LIMIT_MB the run fails with
    `memory_limit`, and the job's record stays small."""
    limited.put_board("huge", template_board("{{ 'x' * 300000000 }}"))
    job = limited.wait(limited.submit("huge", payload={}).json()["job_id"], timeout=60)
    assert job["status"] == "failed" and job["error"]["code"] == "memory_limit", job["error"]
    assert "result" not in job


def test_a_result_over_the_cap_fails_the_job_with_result_too_large(limited):
    """A result larger than JOB_MAX_RESULT_BYTES is not stored: the job fails with `result_too_large`."""
    limited.put_board("big", template_board("{{ 'x' * 200000 }}"))
    job = limited.wait(limited.submit("big", payload={}).json()["job_id"], timeout=60)
    assert job["status"] == "failed" and job["error"]["code"] == "result_too_large", job["error"]
    assert "100000" in job["error"]["message"]


def test_the_stored_log_is_capped(limited):
    """Log lines beyond JOB_MAX_LOG_BYTES are not stored; the log says it was cut, the job still completes."""
    limited.put_board("chatty", log_board(100, 1000))
    job_id = limited.submit("chatty", payload=list(range(100))).json()["job_id"]
    job = limited.wait(job_id, timeout=60)
    assert job["status"] == "completed", job
    lines = limited.client.get(f"/jobs/{job_id}/logs", headers=limited.headers).json()["lines"]
    assert 10 <= len(lines) < 30
    assert "log truncated" in lines[-1]["message"]
