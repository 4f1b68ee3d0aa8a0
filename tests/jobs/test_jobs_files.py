"""File nodes through the whole pipeline: a job's board writes and reads the folders of its app and
submitting user in the server's storage, and a board of another app cannot read them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import free_port, start_server, stop_server
from boardrun.testing.boards import BoardBuilder
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


def check_isolation(server, read_key) -> None:
    """A job writes and reads back files in its app's storage and its user's folder (``read_key(key)``
    reads the storage key); another user's app reading the same paths finds nothing and fails."""
    client = server.client()
    owner = Workspace(client, sign_in(client, "owner@example.com"), "")
    owner.app_id = client.post("/api/v1/apps", json={"name": "Files"}, headers=owner.headers).json()["id"]
    for ref in ("dirs__storage", "dirs__user"):
        owner.put_board(f"rw-{ref}", write_read_board(ref))
        r = owner.submit(f"rw-{ref}", payload={}, mode="sync")
        job = r.json()
        assert r.status_code == 200 and job["status"] == "completed", (r.status_code, job)
        assert job["result"] == "hello"
    me = client.get("/api/v1/user", headers=owner.headers)
    prefix = f"apps/{owner.app_id}/files"
    assert read_key(f"{prefix}/storage/note.txt") == b"hello"
    assert read_key(f"{prefix}/users/{me.json()['id']}/note.txt") == b"hello"

    other_headers = sign_in(client, "intruder@example.com")
    other_app = client.post("/api/v1/apps", json={"name": "Other"}, headers=other_headers).json()["id"]
    other = Workspace(client, other_headers, other_app)
    for ref in ("dirs__storage", "dirs__user"):
        other.put_board(f"r-{ref}", read_board(ref))
        job = other.submit(f"r-{ref}", payload={}, mode="sync").json()
        assert job["status"] == "failed" and job["error"]["code"] == "node_error", job
        assert "file not found" in job["error"]["message"]
    client.close()


def test_job_files_on_the_local_folder(server):
    """Embedded mode: the files are under the storage folder, confined per app and user."""
    root = Path(os.environ["STORAGE_URL"].removeprefix("file://"))
    check_isolation(server, lambda key: (root / key).read_bytes())


@pytest.fixture
def s3_server(env, monkeypatch):
    """The embedded server storing everything in an S3 bucket served by moto on 127.0.0.1."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    endpoint = f"http://127.0.0.1:{port}"
    creds = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}
    for name, value in creds.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=endpoint)
    client.create_bucket(Bucket="boardrun-e2e")
    srv = start_server({"DATA_DIR": str(env["data_dir"]), "DATABASE_URL": env["database_url"],
                        "STORAGE_URL": "s3://boardrun-e2e/site", "S3_ENDPOINT_URL": endpoint, **creds},
                       env["tmp_path"] / "server.log")
    try:
        yield srv, client
    finally:
        stop_server(srv)
        moto.stop()


def test_job_files_on_s3(s3_server):
    """Cluster storage: the same board's files are objects under the bucket's prefix, confined alike."""
    server, client = s3_server
    check_isolation(server, lambda key: client.get_object(Bucket="boardrun-e2e", Key=f"site/{key}")["Body"].read())
