"""Both storage backends behave the same: local folder and S3 (through moto)."""

import boto3
import pytest
from moto import mock_aws

from boardrun.storage import StorageNotFound, storage_from_url
from boardrun.storage.s3 import S3Storage


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path, monkeypatch):
    if request.param == "local":
        yield storage_from_url(f"file://{tmp_path / 'store'}")
        return
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="boards")
        yield storage_from_url("s3://boards/prefix")


def test_put_get_overwrite(store):
    """An object reads back as written, and a second write replaces it."""
    store.put("apps/a1/boards/b1.json", b"one")
    assert store.get("apps/a1/boards/b1.json") == b"one"
    store.put("apps/a1/boards/b1.json", b"two")
    assert store.get("apps/a1/boards/b1.json") == b"two"


def test_missing_object_raises_not_found(store):
    """Reading a missing key raises StorageNotFound, not a backend error."""
    with pytest.raises(StorageNotFound):
        store.get("apps/none.json")


def test_list_and_delete_prefix(store):
    """Listing and deleting by prefix touch exactly that app's objects."""
    for key in ["apps/a1/x.json", "apps/a1/sub/y.json", "apps/a2/z.json", "apps/a10/w.json"]:
        store.put(key, b"1")
    assert store.list("apps/a1") == ["apps/a1/sub/y.json", "apps/a1/x.json"]
    assert store.delete_prefix("apps/a1") == 2
    assert store.list("apps/a1") == []
    assert store.get("apps/a10/w.json") == b"1" and store.get("apps/a2/z.json") == b"1"


def test_delete_missing_is_harmless(store):
    """Deleting an object that is not there is not an error."""
    store.delete("apps/none.json")


def test_check_passes(store):
    """The readiness check passes on a working backend."""
    store.check()


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a//b", "a/./b", "", "a/b c"])
def test_unsafe_keys_are_refused(store, key):
    """Keys that could escape the store's root are refused."""
    with pytest.raises(ValueError):
        store.put(key, b"x")


def test_s3_check_fails_for_missing_bucket(monkeypatch):
    """The S3 readiness check fails when the bucket does not exist."""
    from boardrun.storage import StorageError

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        with pytest.raises(StorageError):
            S3Storage("missing-bucket").check()


def test_size_without_reading(store):
    """size() gives an object's length in bytes (so a caller can refuse to load a huge one); missing → StorageNotFound."""
    store.put("jobs/j1/result.json", b"x" * 1234)
    assert store.size("jobs/j1/result.json") == 1234
    with pytest.raises(StorageNotFound):
        store.size("jobs/j1/none.json")
