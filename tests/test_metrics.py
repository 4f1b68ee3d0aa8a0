"""GET /metrics: served by every function and the embedded router, request metrics
labelled by route template (bounded), and the database gauges computed at scrape time."""

from __future__ import annotations

import pytest

from boardrun.deploy.services import FUNCTIONS
from tests.conftest import function_client
from tests.prom import parse, value

REQUESTS = "boardrun_http_requests_total"


def scrape(client) -> dict:
    r = client.get("/metrics")
    assert r.status_code == 200 and r.mimetype == "text/plain", r.data[:200]
    return parse(r.get_data(as_text=True))


@pytest.mark.parametrize("function", [fn.name for fn in FUNCTIONS])
def test_every_function_serves_metrics(env, function):
    """Each Knative function's own router (under functions-framework) answers /metrics and labels its requests with its name."""
    client = function_client(function)
    scrape(client)
    after = scrape(client)
    assert value(after, REQUESTS, function=function, route="/metrics", method="GET", status="200") >= 1


def test_requests_are_counted_by_route_template_and_status(api):
    """Two 404s on an app id count under the rule /api/v1/apps/<app_id>, never the raw path; an unknown path counts as 'unmatched'."""
    before = scrape(api)
    for app_id in ("app-missing-1", "app-missing-2"):
        assert api.get(f"/api/v1/apps/{app_id}").status_code == 404
    assert api.get("/no/such/path").status_code == 404
    assert api.open("/api/v1/", method="BREW").status_code == 405
    after = scrape(api)
    labels = {"function": "embedded", "method": "GET", "status": "404"}
    route = "/api/v1/apps/<app_id>"
    assert value(after, REQUESTS, route=route, **labels) - value(before, REQUESTS, route=route, **labels) == 2
    assert value(after, REQUESTS, route="unmatched", **labels) - value(before, REQUESTS, route="unmatched", **labels) == 1
    brew = {"function": "embedded", "route": "unmatched", "method": "other", "status": "405"}
    assert value(after, REQUESTS, **brew) - value(before, REQUESTS, **brew) == 1
    hist = "boardrun_http_request_duration_seconds_count"
    assert value(after, hist, function="embedded", route=route, method="GET") - value(
        before, hist, function="embedded", route=route, method="GET") == 2
    assert not any("app-missing" in v for _, labels_ in after for _, v in labels_)


def test_database_gauges_are_computed_at_scrape(api):
    """The outbox backlog/age and the active-job gauges are present, read from the database (empty: zeros)."""
    samples = scrape(api)
    assert value(samples, "boardrun_outbox_pending") == 0
    assert value(samples, "boardrun_outbox_oldest_age_seconds") == 0
    assert value(samples, "boardrun_jobs_active", status="queued") == 0
    assert value(samples, "boardrun_jobs_active", status="running") == 0
    assert ("boardrun_outbox_pending", frozenset()) in samples


def test_scrape_survives_a_database_outage(api, monkeypatch):
    """With the database unreachable, /metrics still answers 200 with the request metrics, without the database gauges."""
    from sqlalchemy.exc import OperationalError

    from boardrun import db

    def down():
        raise OperationalError("SELECT 1", {}, Exception("database is down"))

    monkeypatch.setattr(db, "get_engine", down)
    samples = scrape(api)
    assert ("boardrun_outbox_pending", frozenset()) not in samples
    assert any(name == REQUESTS for name, _ in samples)


def test_job_transitions_count_only_when_committed(api):
    """A status write whose transaction rolls back is not counted; the same write committed is, once."""
    from boardrun.db import session_scope
    from boardrun.jobs import states
    from boardrun.jobs.models import Job
    from tests.conftest import register_and_login

    user = register_and_login(api)
    app_id = api.post("/api/v1/apps", json={"name": "Metrics"}, headers=user["headers"]).get_json()["id"]
    with session_scope() as session:
        session.add(Job(id="job-metrics-1", app_id=app_id, board_id="b", version="draft", node_id="n", mode="async",
                        spec_key="jobs/job-metrics-1/spec.json", deadline_seconds=60))
    failed = {"status": "failed", "error_code": "timeout"}
    before = scrape(api)

    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        with session_scope() as session:
            assert states.transition(session.get(Job, "job-metrics-1"), states.JobStatus.FAILED,
                                     error={"code": states.ErrorCode.TIMEOUT, "message": "late"})
            raise Abort
    rolled_back = scrape(api)
    with session_scope() as session:
        assert states.transition(session.get(Job, "job-metrics-1"), states.JobStatus.FAILED,
                                 error={"code": states.ErrorCode.TIMEOUT, "message": "late"})
    committed = scrape(api)
    name = "boardrun_jobs_finished_total"
    assert value(rolled_back, name, **failed) == value(before, name, **failed)
    assert value(committed, name, **failed) - value(before, name, **failed) == 1
    assert value(committed, "boardrun_jobs_active", status="queued") == 0


def test_unknown_error_codes_are_bounded(api):
    """A failure code outside the known set is counted as 'other' (a board cannot mint label values)."""
    from boardrun.jobs import states
    from boardrun.jobs.models import Job

    before = scrape(api)
    job = Job(id="job-metrics-2", status=states.JobStatus.RUNNING)
    assert states.transition(job, states.JobStatus.FAILED, error={"code": "made-up-by-a-board", "message": "x"})
    after = scrape(api)
    other = {"status": "failed", "error_code": "other"}
    assert value(after, "boardrun_jobs_finished_total", **other) - value(before, "boardrun_jobs_finished_total", **other) == 1
    assert not any(v == "made-up-by-a-board" for _, labels in after for _, v in labels)
