"""Security of the jobs pipeline: what callers and executors can make the API and the
dispatcher do with crafted cursors, replayed commands, foreign result references and
floods of progress reports."""

from __future__ import annotations

import base64

from tests.conftest import register_and_login


def test_a_deep_jobs_cursor_is_422_not_500(api):
    """Regression: a base64 cursor of 2,500 `[` on GET /jobs raised RecursionError (500)."""
    h = register_and_login(api)["headers"]
    app = api.post("/api/v1/apps", json={"name": "A"}, headers=h).get_json()["id"]
    cursor = base64.urlsafe_b64encode(b"[" * 2500).decode().rstrip("=")
    r = api.get("/jobs", query_string={"app_id": app, "cursor": cursor}, headers=h)
    assert r.status_code == 422, r.get_data(as_text=True)
    assert r.get_json()["error"]["details"][0]["field"] == "cursor"
