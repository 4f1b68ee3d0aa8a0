"""File nodes through the whole pipeline: a job's board writes and reads the folders of its app and
submitting user in the server's storage, and a board of another app cannot read them."""

from __future__ import annotations

import os
from pathlib import Path

from tests.engine.engine_testkit import BoardBuilder
from tests.jobs.conftest import Workspace, sign_in


def write_read_board(ref: str) -> dict:
    """events_generic → write "hello" to <ref>/note.txt → read it back → return it."""
    b = BoardBuilder()
    start = b.add("events_generic", "start")
    path = {"path": "note.txt", "store_ref": ref, "cache_store_ref": None}
    write = b.add("write_string", "write", path=path, content="hello")
    read = b.add("read_to_string", "read", path=path)
    ret = b.add("events_generic_return_result", "ret")
    b.chain(start, write, read, ret)
    b.connect(read, "content", ret, "response")
    return b.build()


def read_board(ref: str) -> dict:
    b = BoardBuilder()
    start = b.add("events_generic", "start")
    read = b.add("read_to_string", "read", path={"path": "note.txt", "store_ref": ref, "cache_store_ref": None})
    ret = b.add("events_generic_return_result", "ret")
    b.chain(start, read, ret)
    b.connect(read, "content", ret, "response")
    return b.build()


def test_job_files_live_in_the_app_and_user_folders(workspace, server):
    """A job writes and reads back files in its app's storage and its user's folder; another user's
    app reading the same paths finds nothing and the job fails with node_error."""
    storage_root = Path(os.environ["STORAGE_URL"].removeprefix("file://"))
    for ref in ("dirs__storage", "dirs__user"):
        workspace.put_board(f"rw-{ref}", write_read_board(ref))
        r = workspace.submit(f"rw-{ref}", payload={}, mode="sync")
        job = r.json()
        assert r.status_code == 200 and job["status"] == "completed", (r.status_code, job)
        assert job["result"] == "hello"
    app_files = storage_root / "apps" / workspace.app_id / "files"
    assert (app_files / "storage/note.txt").read_text() == "hello"
    [user_note] = (app_files / "users").glob("*/note.txt")
    assert user_note.read_text() == "hello"

    client = server.client()
    other_headers = sign_in(client, "intruder@example.com")
    other_app = client.post("/api/v1/apps", json={"name": "Other"}, headers=other_headers).json()["id"]
    other = Workspace(client, other_headers, other_app)
    for ref in ("dirs__storage", "dirs__user"):
        other.put_board(f"r-{ref}", read_board(ref))
        job = other.submit(f"r-{ref}", payload={}, mode="sync").json()
        assert job["status"] == "failed" and job["error"]["code"] == "node_error", job
        assert "file not found" in job["error"]["message"]
    client.close()
