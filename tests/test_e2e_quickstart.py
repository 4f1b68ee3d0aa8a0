"""The README quick start, end to end over real HTTP against the embedded server:
health, register, login, create an app, upload a board, freeze it, list and fetch versions."""

from __future__ import annotations

import uuid

from boardrun.testing.boards import hello_board
from tests.conftest import stop_server


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

        board = hello_board("quickstart", message="Hello, Boardrun!", name="Quick start", log_level="Info")
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
