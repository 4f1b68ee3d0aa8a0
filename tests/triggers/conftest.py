"""Fixtures for triggers: the jobs pipeline's signed-in workspace on a running embedded server
(for what runs boards), and the same in process (for what only reads and writes events)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from boardrun.testing.boards import echo_board
from tests.conftest import register_and_login
from tests.jobs.conftest import workspace  # noqa: F401  (the fixture, shared with the jobs tests)


class _Reply:
    """A werkzeug test response read like an httpx one (status_code, headers, text, json())."""

    def __init__(self, response):
        self.status_code, self.headers = response.status_code, response.headers
        self.text = response.get_data(as_text=True)
        self._response = response

    def json(self):
        return self._response.get_json()


class _Client:
    def __init__(self, client):
        self._client = client

    def __getattr__(self, method):
        return lambda *a, **kw: _Reply(getattr(self._client, method)(*a, **kw))


@dataclass
class Local:
    """The full routes table in process (werkzeug's client), with a signed-in owner and an app."""

    client: _Client
    headers: dict
    app_id: str


@pytest.fixture
def local(api):
    headers = register_and_login(api, "owner@example.com")["headers"]
    app_id = api.post("/api/v1/apps", json={"name": "Events"}, headers=headers).get_json()["id"]
    r = api.put(f"/api/v1/apps/{app_id}/board/echo", json={**echo_board(), "id": "echo"}, headers=headers)
    assert r.status_code in (200, 201), r.get_data(as_text=True)
    assert api.patch(f"/api/v1/apps/{app_id}/board/echo?version_type=Minor", headers=headers).status_code == 201
    return Local(_Client(api), headers, app_id)
