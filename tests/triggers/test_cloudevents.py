"""CloudEvent events: a CloudEvent posted to the embedded broker's ingress starts the boards whose
filter matches it (data and attributes as payload); a redelivery starts no second job; events that
match nothing are a 200; malformed ones a 400."""

from __future__ import annotations

import time

from tests.triggers.test_events_api import create


def ce_headers(event_id: str, type_: str, source: str = "/shop/eu", subject: str | None = None) -> dict:
    headers = {"ce-specversion": "1.0", "ce-id": event_id, "ce-type": type_, "ce-source": source,
               "Content-Type": "application/json"}
    if subject:
        headers["ce-subject"] = subject
    return headers


def jobs_of(ws, event_id):
    return ws.client.get(f"/jobs?app_id={ws.app_id}&event_id={event_id}", headers=ws.headers).json()["jobs"]


def test_broker_event_starts_matching_boards_once(workspace):
    """Through /_broker/ingress (routed by the Trigger in infra/eventing), a matching CloudEvent starts
    the exact-type event and the prefix event, not the one filtered by source; a redelivery of the
    same source+id returns the same jobs."""
    ws = workspace
    exact = create(ws, {"name": "exact", "event_type": "cloudevent", "board_id": "echo",
                        "config": {"type": "com.example.order.created", "source_prefix": "/shop"}})
    prefix = create(ws, {"name": "prefix", "event_type": "cloudevent", "board_id": "echo",
                         "config": {"type": "com.example.order.", "type_prefix": True}})
    other = create(ws, {"name": "other", "event_type": "cloudevent", "board_id": "echo",
                        "config": {"type": "com.example.order.created", "source_prefix": "/warehouse"}})
    headers = ce_headers("order-1", "com.example.order.created", subject="o-1")
    assert ws.client.post("/_broker/ingress", json={"order": 1}, headers=headers).status_code == 202
    deadline = time.monotonic() + 30
    while not (jobs_of(ws, exact["id"]) and jobs_of(ws, prefix["id"])) and time.monotonic() < deadline:
        time.sleep(0.1)
    [job] = jobs_of(ws, exact["id"])
    result = ws.wait(job["job_id"])["result"]
    assert result["data"] == {"order": 1}
    assert result["attributes"]["type"] == "com.example.order.created" and result["attributes"]["subject"] == "o-1"
    assert job["trigger"]["kind"] == "cloudevent" and job["trigger"]["id"] == "order-1"

    again = ws.client.post("/triggers/events", json={"order": 1}, headers=headers)
    assert again.status_code == 200
    assert sorted(again.json()["jobs"]) == sorted([job["job_id"], jobs_of(ws, prefix["id"])[0]["job_id"]])
    assert len(jobs_of(ws, exact["id"])) == len(jobs_of(ws, prefix["id"])) == 1
    assert jobs_of(ws, other["id"]) == []


def test_unmatched_and_malformed_events(local):
    """A CloudEvent no event matches is a 200 that starts nothing; one that is not a CloudEvent is a 400."""
    r = local.client.post("/triggers/events", json={}, headers=ce_headers("x-1", "com.example.nothing"))
    assert r.status_code == 200 and r.json() == {"status": "no matching event", "jobs": []}
    r = local.client.post("/triggers/events", json={"no": "attributes"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "not_a_cloudevent"
