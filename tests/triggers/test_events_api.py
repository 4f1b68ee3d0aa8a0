"""The Events API: Flow-Like's fields, validation per event_type with a 422 naming the field,
write-only secrets, permissions, invoke (sync and async) and jobs listed by event."""

from __future__ import annotations

import pytest

from tests.conftest import register_and_login

HTTP_EVENT = {
    "name": "Orders webhook",
    "event_type": "http",
    "board_id": "echo",
    "config": {"path": "orders", "methods": ["POST"], "auth_token": "t" * 32},
}


def create(ws, body, expect=201):
    r = ws.client.post(f"/api/v1/apps/{ws.app_id}/events", json=body, headers=ws.headers)
    assert r.status_code == expect, r.text
    return r.json()


def test_create_read_update_delete_keeps_secrets_write_only(local):
    """An http event is created with Flow-Like's fields; GET never shows its token (only that
    one is set); PUT without the token keeps it; DELETE removes the event."""
    ws = local
    event = create(ws, {**HTTP_EVENT, "description": "d", "notes": "n", "variables": {"v": 1}})
    assert event["event_type"] == "http" and event["active"] is True and event["board_version"] is None
    assert event["url"] == f"/api/v1/sink/trigger/http/{ws.app_id}/orders"
    assert "auth_token" not in event["config"] and event["config"]["has_auth_token"] is True
    assert event["config"]["methods"] == ["POST"] and event["config"]["signature_header"] == "X-Hub-Signature-256"
    base = f"/api/v1/apps/{ws.app_id}/events"
    listed = ws.client.get(base, headers=ws.headers).json()["events"]
    assert [e["id"] for e in listed] == [event["id"]]
    assert "t" * 32 not in ws.client.get(f"{base}/{event['id']}", headers=ws.headers).text

    changed = {**HTTP_EVENT, "name": "Renamed", "config": {"path": "orders-v2", "methods": ["POST", "PUT"]}}
    r = ws.client.put(f"{base}/{event['id']}", json=changed, headers=ws.headers)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Renamed" and r.json()["config"]["has_auth_token"] is True
    assert r.json()["url"].endswith("/orders-v2")

    assert ws.client.delete(f"{base}/{event['id']}", headers=ws.headers).status_code == 204
    assert ws.client.get(f"{base}/{event['id']}", headers=ws.headers).status_code == 404


@pytest.mark.parametrize("body, field", [
    ({**HTTP_EVENT, "config": {"path": "orders"}}, "config/auth_token"),
    ({**HTTP_EVENT, "config": {"path": "/abs", "public": True}}, "config/path"),
    ({**HTTP_EVENT, "config": {"path": "x", "public": True, "methods": ["TRACE"]}}, "config/methods/0"),
    ({**HTTP_EVENT, "config": {"path": "x", "auth_token": "short"}}, "config/auth_token"),
    ({**HTTP_EVENT, "config": {"path": "x", "public": True, "surprise": 1}}, "config/surprise"),
    ({**HTTP_EVENT, "event_type": "cron", "config": {"cron_expression": "61 * * * *"}}, "config/cron_expression"),
    ({**HTTP_EVENT, "event_type": "cron", "config": {"cron_expression": "* * * * * *"}}, "config/cron_expression"),
    ({**HTTP_EVENT, "event_type": "cron", "config": {"cron_expression": "*/5 * * * *", "cron_timezone": "Mars/Olympus"}},
     "config/cron_timezone"),
    ({**HTTP_EVENT, "event_type": "cloudevent", "config": {"type_prefix": True}}, "config/type"),
    ({**HTTP_EVENT, "board_id": "nope"}, "board_id"),
    ({**HTTP_EVENT, "board_version": "9.9.9"}, "board_version"),
    ({**HTTP_EVENT, "event_type": "email"}, "event_type"),
])
def test_bad_events_are_422_naming_the_field(local, body, field):
    """Each malformed event is refused with a 422 whose details name the offending field."""
    r = local.client.post(f"/api/v1/apps/{local.app_id}/events", json=body, headers=local.headers)
    assert r.status_code == 422, r.text
    assert field in [d["field"] for d in r.json()["error"]["details"]]


def test_a_short_secret_is_not_echoed_back(local):
    """The 422 for a bad auth_token does not contain the submitted value."""
    body = {**HTTP_EVENT, "config": {"path": "x", "auth_token": "s3cr3t-value"}}
    r = local.client.post(f"/api/v1/apps/{local.app_id}/events", json=body, headers=local.headers)
    assert r.status_code == 422 and "s3cr3t-value" not in r.text


def test_paths_are_unique_per_app(local):
    """A second http event with the same path in the same app is a 409."""
    create(local, HTTP_EVENT)
    r = local.client.post(f"/api/v1/apps/{local.app_id}/events", json=HTTP_EVENT, headers=local.headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "event_path_taken"


def test_other_users_cannot_see_or_invoke_events(local):
    """A user who is not a member of the (private) app gets 404 for its events, as for the app."""
    event = create(local, HTTP_EVENT)
    stranger = register_and_login(local.client._client, "stranger@example.com")["headers"]
    base = f"/api/v1/apps/{local.app_id}/events"
    assert local.client.get(base, headers=stranger).status_code == 404
    assert local.client.get(f"{base}/{event['id']}", headers=stranger).status_code == 404
    assert local.client.post(f"{base}/{event['id']}/invoke/async", json={}, headers=stranger).status_code == 404


def test_invoke_sync_and_async_record_the_event(workspace):
    """invoke answers the finished job with its result; invoke/async 202 + Location; both jobs carry
    trigger {kind: invoke, event_id} and GET /jobs?event_id= lists exactly them."""
    ws = workspace
    event = create(ws, HTTP_EVENT)
    base = f"/api/v1/apps/{ws.app_id}/events/{event['id']}"
    r = ws.client.post(f"{base}/invoke", json={"payload": {"n": 1}}, headers=ws.headers)
    assert r.status_code == 200, r.text
    assert r.json()["result"] == {"n": 1} and r.json()["trigger"]["kind"] == "invoke"
    assert r.json()["trigger"]["event_id"] == event["id"]
    r = ws.client.post(f"{base}/invoke/async", json={"payload": 2}, headers=ws.headers)
    assert r.status_code == 202 and r.headers["Location"] == f"/jobs/{r.json()['job_id']}"
    assert ws.wait(r.json()["job_id"])["result"] == 2
    ws.submit("echo", payload="direct")  # a direct submit is not listed by event
    listed = ws.client.get(f"/jobs?app_id={ws.app_id}&event_id={event['id']}", headers=ws.headers).json()["jobs"]
    assert len(listed) == 2 and all(j["trigger"]["event_id"] == event["id"] for j in listed)


def test_a_paused_event_starts_nothing(local):
    """invoke of an event with active: false is a 409 and starts no job."""
    event = create(local, {**HTTP_EVENT, "active": False})
    r = local.client.post(f"/api/v1/apps/{local.app_id}/events/{event['id']}/invoke/async", json={},
                          headers=local.headers)
    assert r.status_code == 409
    assert local.client.get(f"/jobs?app_id={local.app_id}", headers=local.headers).json()["jobs"] == []


def test_trigger_prefix_is_reserved_for_idempotency_keys(local):
    """A client's Idempotency-Key may not start with 'trigger:' (the keys events use to deduplicate)."""
    r = local.client.post("/jobs/submit", json={"app_id": local.app_id, "board_id": "echo"},
                          headers={**local.headers, "Idempotency-Key": "trigger:cron:x"})
    assert r.status_code == 422
