"""The file layer (boardrun/engine/files.py): the same tests on the local folder and on S3 through moto.

A FlowPath names a scope (store_ref) and a path inside it; the scope's root comes from the run's
app and user, so these tests prove that no FlowPath a board can build reaches another app's or
user's objects, or anything outside the scope.
"""

from __future__ import annotations

import os

import boto3
import pytest
from moto import mock_aws

from boardrun.engine import NodeError
from boardrun.engine.files import FilesConfig, FileServices, flow_path
from boardrun.storage import storage_from_url


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path, monkeypatch):
    if request.param == "local":
        yield storage_from_url(f"file://{tmp_path / 'store'}")
        return
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="boards")
        yield storage_from_url("s3://boards/prefix")


def services(storage, app="app1", user="user1", **config):
    return FileServices.from_storage(storage, app, user, FilesConfig(**config) if config else None).for_run()


def write(files, ref, path, data=b"x"):
    files.write(files.locate(flow_path(ref, path), "path"), data)


def read(files, ref, path):
    return files.read(files.locate(flow_path(ref, path), "path"))


SCOPE_KEYS = {
    "dirs__storage": "apps/app1/files/storage/a/b.txt",
    "dirs__upload": "apps/app1/files/upload/a/b.txt",
    "dirs__user": "apps/app1/files/users/user1/a/b.txt",
    "dirs__cache": "apps/app1/files/cache/global/a/b.txt",
    "dirs__cache_user": "apps/app1/files/cache/users/user1/a/b.txt",
}


@pytest.mark.parametrize("ref,key", SCOPE_KEYS.items())
def test_each_scope_lives_under_its_app_prefix(storage, ref, key):
    """Every scope maps onto its own prefix under apps/<app>/files, the per-user ones under the user."""
    files = services(storage)
    write(files, ref, "a/b.txt", b"hello")
    assert storage.get(key) == b"hello"
    assert read(files, ref, "a/b.txt") == b"hello"


def test_apps_and_users_do_not_see_each_other(storage):
    """The same FlowPath read by another app, or by another user of the app, finds nothing."""
    mine = services(storage)
    write(mine, "dirs__storage", "secret.txt", b"app1")
    write(mine, "dirs__user", "secret.txt", b"user1")
    other_app = services(storage, app="app2")
    other_user = services(storage, user="user2")
    for files, ref in [(other_app, "dirs__storage"), (other_app, "dirs__user"), (other_user, "dirs__user")]:
        with pytest.raises(NodeError, match="file not found"):
            read(files, ref, "secret.txt")
        assert files.list(files.locate(flow_path(ref, ""), "p")) == []
    assert read(other_user, "dirs__storage", "secret.txt") == b"app1"  # the app's storage is shared by its users


@pytest.mark.parametrize("path", ["../x", "a/../../x", "..", "/etc/passwd", "a//b", "./a", "a/.", "a\\..\\b",
                                  "a\x00b", "a\nb", "x" * 256])
def test_escaping_paths_are_refused(storage, path):
    """'..', '.', empty segments, absolute paths, backslashes, NUL and control characters and overlong
    segments fail the node before the store is touched."""
    files = services(storage)
    for op in (lambda loc: files.write(loc, b"x"), files.read, files.exists, files.list):
        with pytest.raises(NodeError):
            op(files.locate(flow_path("dirs__storage", path), "path"))
    assert storage.list("apps") == []


@pytest.mark.parametrize("value", [None, "a.txt", {"path": "a"}, {"path": 1, "store_ref": "dirs__storage"},
                                   {"path": "a", "store_ref": "somewhere_else"}])
def test_malformed_or_unknown_paths_are_refused(storage, value):
    """A pin value that is not a FlowPath of a known scope fails clearly."""
    with pytest.raises(NodeError, match="not a path|unknown store"):
        services(storage).locate(value, "path")


def test_user_scopes_need_a_user(storage):
    """A run without a user has no user folders; the app's folders still work."""
    files = services(storage, user=None)
    with pytest.raises(NodeError, match="no user"):
        files.locate(flow_path("dirs__user", "a"), "path")
    write(files, "dirs__storage", "a", b"1")


def test_odd_ids_become_one_safe_segment(storage):
    """An app or user id with '/' or '..' cannot widen the prefix: it is replaced by a digest, and an id
    that looks like a digest is digested too, so two ids never share a folder."""
    files = services(storage, app="../app1", user="a/b")
    write(files, "dirs__user", "f", b"1")
    [key] = storage.list("apps")
    assert key.startswith("apps/h-") and "/users/h-" in key and key.count("/") == 5
    lookalike = key.split("/")[4]
    write(services(storage, app="../app1", user=lookalike), "dirs__user", "f", b"2")
    assert storage.get(key) == b"1" and len(storage.list("apps")) == 2


def test_list_folders_delete_copy_rename(storage):
    """Listings are relative to the scope and sorted; delete, copy and rename act on exactly the named files."""
    files = services(storage)
    for path in ["a/1.txt", "a/b/2.txt", "a/b/c/3.txt", "z.txt"]:
        write(files, "dirs__storage", path, path.encode())
    at = lambda p: files.locate(flow_path("dirs__storage", p), "path")  # noqa: E731
    assert files.list(at("a")) == ["a/1.txt", "a/b/2.txt", "a/b/c/3.txt"]
    assert files.list(at("a"), recursive=False) == ["a/1.txt"]
    assert files.list(at("")) == ["a/1.txt", "a/b/2.txt", "a/b/c/3.txt", "z.txt"]
    assert files.list_folders(at("")) == ["a/", "a/b/", "a/b/c/"]
    assert files.list_folders(at("a"), recursive=False) == ["a/b/"]
    files.copy(at("z.txt"), files.locate(flow_path("dirs__user", "copied.txt"), "to"))
    assert read(files, "dirs__user", "copied.txt") == b"z.txt"
    with pytest.raises(NodeError, match="exists"):
        files.rename(at("z.txt"), at("a/1.txt"), overwrite=False)
    files.rename(at("z.txt"), at("moved.txt"), overwrite=False)
    assert not files.exists(at("z.txt")) and read(files, "dirs__storage", "moved.txt") == b"z.txt"
    assert files.delete(at("a/b"), recursive=True) == 2
    assert files.list(at("")) == ["a/1.txt", "moved.txt"]


def test_head_and_ranges(storage):
    """head gives the size; a range is clipped to the end, and one starting past it fails."""
    files = services(storage)
    write(files, "dirs__storage", "f.bin", b"0123456789")
    loc = files.locate(flow_path("dirs__storage", "f.bin"), "path")
    assert files.head(loc).size == 10
    assert files.read_range(loc, 2, 5) == b"234"
    assert files.read_range(loc, 8, 100) == b"89"
    assert files.read_range(loc, 4, 4) == b""
    with pytest.raises(NodeError, match="past the end"):
        files.read_range(loc, 11, 12)
    with pytest.raises(NodeError, match="invalid range"):
        files.read_range(loc, 5, 2)


def test_size_cap_applies_to_reads_and_writes(storage):
    """Reading or writing more than max_bytes fails the node and names the setting."""
    files = services(storage, max_bytes=4)
    with pytest.raises(NodeError, match="ENGINE_FILES_MAX_BYTES"):
        write(files, "dirs__storage", "big", b"12345")
    storage_key = "apps/app1/files/storage/big"
    storage.put(storage_key, b"123456")
    with pytest.raises(NodeError, match="ENGINE_FILES_MAX_BYTES"):
        read(files, "dirs__storage", "big")


def test_virtual_folders_are_per_run_and_capped(storage):
    """A virtual folder lives in the run's memory: a new run starts empty, the total is capped."""
    base = FileServices.from_storage(storage, "app1", "user1", FilesConfig(virtual_max_bytes=5))
    run1 = base.for_run()
    vpath = run1.virtual_dir("scratch")
    loc = run1.locate({**vpath, "path": "a.txt"}, "path")
    run1.write(loc, b"abc")
    assert run1.read(loc) == b"abc" and storage.list("apps") == []
    with pytest.raises(NodeError, match="ENGINE_FILES_VIRTUAL_MAX_BYTES"):
        run1.write(loc.with_rel("b.txt"), b"abc")
    with pytest.raises(NodeError, match="cannot be opened"):
        run1.uri(loc)
    run2 = base.for_run()
    assert not run2.exists(run2.locate({**vpath, "path": "a.txt"}, "path"))


def test_uri_points_inside_the_scope(storage):
    """uri() gives where a library opens the path: the file under the folder, or the s3:// object."""
    files = services(storage)
    uri = files.uri(files.locate(flow_path("dirs__storage", "db/t.lance"), "path"))
    if uri.startswith("s3://"):
        assert uri == "s3://boards/prefix/apps/app1/files/storage/db/t.lance"
    else:
        assert uri == os.path.join(storage.root, "apps/app1/files/storage/db/t.lance")


def test_storage_options_describe_the_s3_client(storage):
    """For S3 paths the options carry the client's region and keys (what LanceDB/DataFusion need); none locally."""
    files = services(storage)
    options = files.storage_options(files.locate(flow_path("dirs__storage", "db"), "path"))
    if storage.__class__.__name__ == "S3Storage":
        assert options["region"] == "us-east-1" and "endpoint" not in options  # AWS itself
        assert options["aws_access_key_id"] and options["aws_secret_access_key"]  # moto swaps in its own keys
    else:
        assert options == {}


def test_signed_urls_only_on_s3(storage):
    """On S3 a presigned URL names the object's full key; the local folder refuses clearly."""
    files = services(storage)
    loc = files.locate(flow_path("dirs__storage", "f.txt"), "path")
    if storage.__class__.__name__ == "S3Storage":
        url = files.sign_url(loc, "GET", 60)
        assert "/prefix/apps/app1/files/storage/f.txt" in url and "Signature" in url
        with pytest.raises(NodeError, match="POST"):
            files.sign_url(loc, "POST", 60)
    else:
        with pytest.raises(NodeError, match="need S3"):
            files.sign_url(loc, "GET", 60)


def test_local_symlinks_out_of_the_scope_are_refused(tmp_path):
    """In the local folder, a link inside one app's folder pointing to another app's (or anywhere
    outside) cannot be read, written through or listed."""
    storage = storage_from_url(f"file://{tmp_path / 'store'}")
    storage.put("apps/app2/files/storage/secret.txt", b"other app")
    (tmp_path / "outside.txt").write_text("outside")
    scope = tmp_path / "store/apps/app1/files/storage"
    scope.mkdir(parents=True)
    (scope / "to_app2").symlink_to(tmp_path / "store/apps/app2/files/storage")
    (scope / "out.txt").symlink_to(tmp_path / "outside.txt")
    files = services(storage)
    for path in ["to_app2/secret.txt", "out.txt"]:
        loc = files.locate(flow_path("dirs__storage", path), "path")
        with pytest.raises(NodeError, match="outside its folder"):
            files.read(loc)
        with pytest.raises(NodeError, match="outside its folder"):
            files.write(loc, b"x")
    assert files.list(files.locate(flow_path("dirs__storage", ""), "p")) == []
    assert storage.get("apps/app2/files/storage/secret.txt") == b"other app"
    assert (tmp_path / "outside.txt").read_text() == "outside"
