"""The HTTP sink on the embedded server: bearer and GitHub-style HMAC authentication, the request
as the run's payload, redeliveries deduplicated, respond-with-result, and refusals (401, 404,
405, 413) that start nothing."""

from __future__ import annotations

import hashlib
import hmac
import json

from tests.triggers.test_events_api import create

TOKEN = "a-bearer-token-of-32-characters!"
SECRET = "webhook-secret-of-some-length"


def _sink(ws, path):
    return f"/api/v1/sink/trigger/http/{ws.app_id}/{path}"


def _jobs(ws, event_id):
    return ws.client.get(f"/jobs?app_id={ws.app_id}&event_id={event_id}", headers=ws.headers).json()["jobs"]


def test_bearer_token_webhook_runs_the_board_with_the_request(workspace):
    """A wrong or missing token is 401 and starts nothing; the right one is 202 + job id, and the
    board receives method, path, query, headers (without credentials) and the parsed JSON body."""
    ws = workspace
    event = create(ws, {"name": "w", "event_type": "http", "board_id": "echo",
                        "config": {"path": "orders/new", "auth_token": TOKEN}})
    url = _sink(ws, "orders/new")
    assert ws.client.post(url, json={"a": 1}).status_code == 401
    assert ws.client.post(url, json={"a": 1}, headers={"Authorization": "Bearer " + TOKEN[:-1] + "?"}).status_code == 401
    assert _jobs(ws, event["id"]) == []
    r = ws.client.post(url + "?x=1&y=2&y=3", json={"a": 1},
                       headers={"Authorization": f"Bearer {TOKEN}", "X-Custom": "yes"})
    assert r.status_code == 202, r.text
    job = ws.wait(r.json()["job_id"])
    payload = job["result"]
    assert payload["method"] == "POST" and payload["path"] == "orders/new"
    assert payload["query"] == {"x": "1", "y": ["2", "3"]} and payload["body"] == {"a": 1}
    assert payload["headers"]["x-custom"] == "yes" and "authorization" not in payload["headers"]
    assert job["trigger"]["kind"] == "http" and job["trigger"]["event_id"] == event["id"]


def test_github_signature_webhook_and_redelivery(workspace):
    """An HMAC-SHA256 signature in X-Hub-Signature-256 authenticates the raw body; a bad one is
    401; a redelivery with the same X-GitHub-Delivery answers the first job and starts no other."""
    ws = workspace
    event = create(ws, {"name": "gh", "event_type": "http", "board_id": "echo",
                        "config": {"path": "github", "webhook_secret": SECRET}})
    body = json.dumps({"action": "opened", "number": 7}).encode()
    good = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "d-1"}
    url = _sink(ws, "github")
    bad = ws.client.post(url, content=body, headers={**headers, "X-Hub-Signature-256": "sha256=" + "0" * 64})
    assert bad.status_code == 401
    first = ws.client.post(url, content=body, headers={**headers, "X-Hub-Signature-256": good})
    again = ws.client.post(url, content=body, headers={**headers, "X-Hub-Signature-256": good})
    assert first.status_code == again.status_code == 202
    assert again.json()["job_id"] == first.json()["job_id"] and again.headers["Idempotent-Replayed"] == "true"
    result = ws.wait(first.json()["job_id"])["result"]
    assert result["body"] == {"action": "opened", "number": 7} and result["headers"]["x-github-event"] == "pull_request"
    assert "x-hub-signature-256" not in result["headers"]
    assert len(_jobs(ws, event["id"])) == 1


def test_respond_with_result_answers_the_boards_result(workspace):
    """With respond_with_result the webhook waits and answers the board's result (200); form bodies
    arrive as fields."""
    ws = workspace
    create(ws, {"name": "r", "event_type": "http", "board_id": "echo",
                "config": {"path": "form", "public": True, "respond_with_result": True}})
    r = ws.client.post(_sink(ws, "form"), data={"name": "Ada", "tag": "x"})
    assert r.status_code == 200, r.text
    assert r.json()["body"] == {"name": "Ada", "tag": "x"} and r.headers["X-Boardrun-Job-Id"].startswith("job-")


def test_refusals_start_nothing(workspace):
    """Unknown path 404; paused event 404; a method the event does not name 405 with Allow; a body
    over the limit 413."""
    ws = workspace
    create(ws, {"name": "p", "event_type": "http", "board_id": "echo", "active": False,
                "config": {"path": "paused", "public": True}})
    event = create(ws, {"name": "o", "event_type": "http", "board_id": "echo",
                        "config": {"path": "open", "public": True, "methods": ["PUT"]}})
    assert ws.client.post(_sink(ws, "nowhere"), json={}).status_code == 404
    assert ws.client.post(_sink(ws, "paused"), json={}).status_code == 404
    r = ws.client.post(_sink(ws, "open"), json={})
    assert r.status_code == 405 and r.headers["Allow"] == "PUT"
    big = ws.client.put(_sink(ws, "open"), content=b"x" * (1024 * 1024 + 1), headers={"Content-Type": "text/plain"})
    assert big.status_code == 413
    assert _jobs(ws, event["id"]) == []
