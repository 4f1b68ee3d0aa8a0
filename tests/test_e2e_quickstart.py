"""The README quick start, end to end over real HTTP against the embedded server:
health, register, login, create an app, upload a board, freeze it, list and fetch versions."""

from __future__ import annotations

import json
import uuid

from tests.conftest import stop_server


def encode(value) -> list[int]:
    return list(json.dumps(value).encode())


def _pin(pin_id, name, pin_type, index, data_type="Execution", default=None, depends_on=(), connected_to=()):
    return {
        "id": pin_id, "name": name, "friendly_name": name, "description": "", "pin_type": pin_type,
        "data_type": data_type, "value_type": "Normal", "depends_on": list(depends_on),
        "connected_to": list(connected_to), "default_value": default, "index": index, "options": None,
    }  # fmt: skip


def quickstart_board() -> dict:
    """events_simple.exec_out wired to log_info.exec_in (both ends recorded); defaults as UTF-8 JSON bytes."""
    now = {"secs_since_epoch": 1_735_689_600, "nanos_since_epoch": 0}
    event = {
        "id": "start", "name": "events_simple", "friendly_name": "Simple Event", "description": "",
        "category": "Events", "start": True,
        "pins": {"start_exec_out": _pin("start_exec_out", "exec_out", "Output", 1, connected_to=["log_exec_in"])},
    }  # fmt: skip
    log = {
        "id": "log", "name": "log_info", "friendly_name": "Print Info", "description": "", "category": "Logging",
        "pins": {
            "log_exec_in": _pin("log_exec_in", "exec_in", "Input", 1, depends_on=["start_exec_out"]),
            "log_message": _pin("log_message", "message", "Input", 2, "Generic", encode("Hello, Boardrun!")),
            "log_toast": _pin("log_toast", "toast", "Input", 3, "Boolean", encode(False)),
            "log_exec_out": _pin("log_exec_out", "exec_out", "Output", 1),
        },
    }  # fmt: skip
    return {
        "id": "quickstart", "name": "Quick start", "description": "prints a greeting",
        "nodes": {"start": event, "log": log}, "variables": {}, "comments": {}, "viewport": [0, 0, 1],
        "version": [0, 0, 0], "stage": "Dev", "log_level": "Info", "refs": {}, "layers": {},
        "created_at": now, "updated_at": now,
    }  # fmt: skip


def test_readme_quickstart_over_http(server):
    """The quick start works over real HTTP, every request gets one access-log line, and SIGTERM exits 0."""
    sent: list[tuple[str, str, int]] = []  # (request id, method path, expected status)

    with server.client() as http:

        def call(method: str, path: str, expected: int, **kw):
            rid = uuid.uuid4().hex
            r = http.request(method, path, headers={"X-Request-Id": rid, **kw.pop("headers", {})}, **kw)
            assert r.status_code == expected, r.text
            assert r.headers["X-Request-Id"] == rid
            sent.append((rid, f"{method} {path.split('?')[0]}", expected))
            return r

        assert call("GET", "/api/v1/health", 200).json() == {"status": "ok"}
        assert call("GET", "/health/live", 200).json()["status"] == "healthy"
        creds = {"email": "ada@example.com", "password": "correct horse 1"}
        call("POST", "/api/v1/auth/register", 201, json=creds)
        token = call("POST", "/api/v1/auth/login", 200, json=creds).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        me = call("GET", "/api/v1/user", 200, headers=auth).json()
        assert me["email"] == "ada@example.com"

        r = call("POST", "/api/v1/apps", 201, json={"name": "Quick start"}, headers=auth)
        app_id = r.json()["id"]
        assert r.headers["Location"] == f"/api/v1/apps/{app_id}"

        board = quickstart_board()
        r = call("PUT", f"/api/v1/apps/{app_id}/board/quickstart", 201, json=board, headers=auth)
        assert r.json()["warnings"] == [] and r.headers["ETag"] == '"1"'

        r = call("PATCH", f"/api/v1/apps/{app_id}/board/quickstart?version_type=Minor", 201, headers=auth)
        assert r.json() == {"version": [0, 1, 0], "label": "0.1.0"}

        versions = call("GET", f"/api/v1/apps/{app_id}/board/quickstart/version", 200, headers=auth).json()["versions"]
        assert [v["label"] for v in versions] == ["0.1.0"]

        frozen = call("GET", f"/api/v1/apps/{app_id}/board/quickstart?version=0_1_0", 200, headers=auth)
        assert frozen.json() == board
        assert call("GET", f"/api/v1/apps/{app_id}", 200, headers=auth).json()["boards"] == ["quickstart"]

    assert stop_server(server) == 0
    lines = [line for line in server.log().splitlines() if "boardrun.access" in line]
    for rid, what, status in sent:
        mine = [line for line in lines if f"[{rid}]" in line]
        assert len(mine) == 1, (rid, what, mine)
        assert what in mine[0] and f" {status} " in mine[0]
