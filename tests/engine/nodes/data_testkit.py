"""App storage for the data node tests: a local folder, or an S3 bucket on a moto server on 127.0.0.1.

LanceDB and DataFusion are Rust libraries with their own S3 clients, so moto's in-process mock
cannot see their requests; a real moto server (``ThreadedMotoServer``) on a free local port can.
"""

from __future__ import annotations

import socket
import uuid

import pytest

from boardrun.engine.files import FileServices


@pytest.fixture(scope="session")
def moto_url():
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path, monkeypatch):
    """Boardrun storage, once as a local folder and once as a fresh S3 bucket (with a key prefix)."""
    if request.param == "local":
        from boardrun.storage.local import LocalStorage

        return LocalStorage(tmp_path / "store")
    import boto3

    from boardrun.storage.s3 import S3Storage

    url = request.getfixturevalue("moto_url")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=url).create_bucket(Bucket=bucket)
    return S3Storage(bucket, prefix="boardrun", endpoint_url=url)


@pytest.fixture
def files(storage):
    return FileServices.from_storage(storage, "app1", "user1")


def services(storage, app: str, user: str = "user1") -> FileServices:
    return FileServices.from_storage(storage, app, user)
