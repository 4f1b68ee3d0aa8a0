"""Job metrics on the embedded server: real jobs move the counters and histograms."""

from __future__ import annotations

from tests.jobs.conftest import failing_board
from tests.prom import parse, value


def scrape(workspace) -> dict:
    r = workspace.client.get("/metrics")
    assert r.status_code == 200, r.text
    return parse(r.text)


def delta(before: dict, after: dict, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_finished_jobs_move_the_job_metrics(workspace):
    """One completed and one failed (node_error) job: submitted +2, started +2, finished by status and
    error code, queue-wait, dispatch, run-duration and executor CPU/memory histograms observed, the
    submit route counted."""
    workspace.put_board("bad", failing_board())
    before = scrape(workspace)
    ok = workspace.submit("echo", payload={"n": 1}, mode="sync")
    assert ok.status_code == 200 and ok.json()["status"] == "completed", ok.text
    bad = workspace.submit("bad", mode="async")
    assert bad.status_code == 202
    assert workspace.wait(bad.json()["job_id"])["error"]["code"] == "node_error"
    after = scrape(workspace)

    assert delta(before, after, "boardrun_jobs_submitted_total", mode="sync") == 1
    assert delta(before, after, "boardrun_jobs_submitted_total", mode="async") == 1
    assert delta(before, after, "boardrun_jobs_started_total") == 2
    assert delta(before, after, "boardrun_jobs_finished_total", status="completed", error_code="") == 1
    assert delta(before, after, "boardrun_jobs_finished_total", status="failed", error_code="node_error") == 1
    assert delta(before, after, "boardrun_job_queue_wait_seconds_count") == 2
    assert delta(before, after, "boardrun_job_dispatch_seconds_count") == 2
    assert delta(before, after, "boardrun_job_run_duration_seconds_count", status="completed") == 1
    assert delta(before, after, "boardrun_job_run_duration_seconds_count", status="failed") == 1
    assert delta(before, after, "boardrun_executor_cpu_seconds_count") == 2
    assert delta(before, after, "boardrun_executor_cpu_seconds_sum") > 0
    assert delta(before, after, "boardrun_executor_max_rss_bytes_count") == 2
    submit = {"function": "embedded", "route": "/jobs/submit", "method": "POST"}
    assert delta(before, after, "boardrun_http_requests_total", status="200", **submit) == 1
    assert delta(before, after, "boardrun_http_requests_total", status="202", **submit) == 1
    assert value(after, "boardrun_jobs_active", status="running") == 0
    assert value(after, "boardrun_outbox_pending") >= 0


def test_idempotent_replay_is_not_a_new_submission(workspace):
    """A submit replayed with the same Idempotency-Key answers the same job and does not count again."""
    before = scrape(workspace)
    key = {"Idempotency-Key": "metrics-replay-1"}
    first = workspace.submit("echo", payload=1, mode="async", extra_headers=key)
    workspace.wait(first.json()["job_id"])
    again = workspace.submit("echo", payload=1, mode="async", extra_headers=key)
    assert again.json()["job_id"] == first.json()["job_id"]
    after = scrape(workspace)
    assert delta(before, after, "boardrun_jobs_submitted_total", mode="async") == 1
    assert delta(before, after, "boardrun_jobs_finished_total", status="completed", error_code="") == 1
