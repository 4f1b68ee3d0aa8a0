"""Fixtures for the jobs pipeline: a signed-in user with an app and frozen boards."""

from __future__ import annotations

import json
import os
import signal
import re
import time
from dataclasses import dataclass

import httpx
import pytest

from boardrun.testing.boards import BoardBuilder, echo_board


def slow_board(seconds: float) -> dict:
    """events_generic → delay(seconds) → return the payload."""
    b = BoardBuilder()
    start = b.add("events_generic", "start")
    wait = b.add("delay", "wait", time=float(seconds) * 1000)  # delay counts milliseconds
    ret = b.add("events_generic_return_result", "ret")
    b.connect(start, "exec_out", wait, "exec_in")
    b.connect(wait, "exec_out", ret, "exec_in")
    b.connect(start, "payload", ret, "response")
    return b.build()


def failing_board() -> dict:
    """events_generic → return val_from_string("{bad"): the pure node fails, nothing handles it."""
    b = BoardBuilder()
    start = b.add("events_generic", "start")
    bad = b.add("val_from_string", "bad")
    ret = b.add("events_generic_return_result", "ret")
    b.connect(start, "exec_out", ret, "exec_in")
    b.set_default(bad, "string", "{bad")
    b.connect(bad, "value_ref", ret, "response")
    return b.build()


@dataclass
class Workspace:
    client: httpx.Client
    headers: dict
    app_id: str

    def put_board(self, board_id: str, board: dict, freeze: bool = True) -> None:
        board = {**board, "id": board_id}
        r = self.client.put(f"/api/v1/apps/{self.app_id}/board/{board_id}", json=board, headers=self.headers)
        assert r.status_code in (200, 201), r.text
        if freeze:
            r = self.client.patch(f"/api/v1/apps/{self.app_id}/board/{board_id}?version_type=Minor", headers=self.headers)
            assert r.status_code == 201, r.text

    def submit(self, board_id: str, **body):
        headers = {**self.headers, **body.pop("extra_headers", {})}
        return self.client.post("/jobs/submit", json={"app_id": self.app_id, "board_id": board_id, **body}, headers=headers)

    def job(self, job_id: str) -> dict:
        r = self.client.get(f"/jobs/{job_id}", headers=self.headers)
        assert r.status_code == 200, r.text
        return r.json()

    def wait(self, job_id: str, statuses=("completed", "failed", "cancelled"), timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.job(job_id)
            if job["status"] in statuses:
                return job
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} still {job['status']} after {timeout}s")


def sign_in(client: httpx.Client, email: str) -> dict:
    password = "correct horse 1"
    assert client.post("/api/v1/auth/register", json={"email": email, "password": password}).status_code == 201
    token = client.post("/api/v1/auth/login", json={"email": email, "password": password}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def workspace(server):
    client = server.client()
    headers = sign_in(client, "owner@example.com")
    app_id = client.post("/api/v1/apps", json={"name": "Jobs"}, headers=headers).json()["id"]
    ws = Workspace(client, headers, app_id)
    ws.put_board("echo", echo_board())
    yield ws
    client.close()


def kill_executor(server, job_id: str, timeout: float = 10) -> None:
    """SIGKILL the executor process of this job (the server logs its pid when it starts it)."""
    pattern = re.compile(rf"job {re.escape(job_id)}: executor started as pid (\d+)")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = pattern.search(server.log())
        if match:
            os.kill(int(match.group(1)), signal.SIGKILL)
            return
        time.sleep(0.05)
    raise AssertionError(f"no executor process for {job_id}")


__all__ = ["slow_board", "failing_board", "kill_executor", "sign_in", "json"]
