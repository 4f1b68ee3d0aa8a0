"""Data/Files nodes in real boards, on the local folder and on S3 through moto (the same tests)."""

from __future__ import annotations

import blake3
import boto3
import pytest
from moto import mock_aws

from boardrun.engine.files import FileServices, flow_path
from engine_testkit import BoardBuilder, run_pure
import files_testkit

storage = files_testkit.storage  # the local-folder / moto-S3 fixture, used by name

STORAGE = "dirs__storage"


@pytest.fixture
def files(storage):
    return FileServices.from_storage(storage, "app1", "user1")


def p(path: str, ref: str = STORAGE) -> dict:
    return flow_path(ref, path)


def run_steps(files, steps, output=None):
    """Run start -> each (node_name, inputs) in order -> return ``output`` = (step index, pin)."""
    b = BoardBuilder()
    start = b.add("events_simple")
    ids = [b.add(name, **inputs) for name, inputs in steps]
    ret = b.add("events_generic_return_result", response=None)
    b.chain(start, *ids, ret)
    if output is not None:
        b.connect(ids[output[0]], output[1], ret, "response")
    return b.run(start, files=files)


def ok(result):
    assert result.status == "completed", result
    return result.result


def fails(result, text):
    assert (result.status, result.reason) == ("failed", "node_error"), result
    assert text in result.error["message"], result.error


def test_write_then_read_string_and_bytes(files, storage):
    """Text and bytes written by one node read back through the others, stored under the app's folder."""
    steps = [("write_string", {"path": p("notes/a.txt"), "content": "héllo"}),
             ("read_to_string", {"path": p("notes/a.txt")})]
    assert ok(run_steps(files, steps, (1, "content"))) == "héllo"
    assert storage.get("apps/app1/files/storage/notes/a.txt") == "héllo".encode()
    steps = [("write_bytes", {"path": p("b.bin"), "content": [0, 255, 10]}), ("read_to_bytes", {"path": p("b.bin")})]
    assert ok(run_steps(files, steps, (1, "content"))) == [0, 255, 10]
    steps = [("path_put", {"path": p("c.bin"), "bytes": [1, 2]}), ("path_get", {"path": p("c.bin")})]
    assert ok(run_steps(files, steps, (1, "bytes"))) == [1, 2]


def test_invalid_utf8_reads_with_replacement(files, storage):
    """Bytes that are not UTF-8 read as text with U+FFFD, as Flow-Like's lossy read."""
    storage.put("apps/app1/files/storage/bad.txt", b"a\xffb")
    assert ok(run_steps(files, [("read_to_string", {"path": p("bad.txt")})], (0, "content"))) == "a\ufffdb"


@pytest.mark.parametrize("node,inputs,text", [
    ("read_to_string", {"path": p("missing.txt")}, "file not found: 'missing.txt'"),
    ("path_get", {"path": p("../other/x")}, "may not leave its folder"),
    ("write_string", {"path": p("/etc/passwd"), "content": "x"}, "is absolute"),
    ("write_bytes", {"path": p("x"), "content": [256]}, "array of bytes"),
    ("path_put", {"path": {"path": "x"}, "bytes": []}, "is not a path"),
    ("read_to_bytes", {"path": p("x", "dirs__app2")}, "unknown store"),
    ("path_head", {"path": p("missing")}, "file not found"),
    ("path_get_range", {"path": p("missing"), "from": 0, "to": 1}, "file not found"),
    ("path_hash_file", {"path": p("missing")}, "file not found"),
    ("storage_copy", {"from": p("missing"), "to": p("x")}, "file not found"),
    ("read_to_string", {"path": p("")}, "folder root"),
])
def test_bad_paths_fail_the_node(files, node, inputs, text):
    """Missing files, escapes and malformed paths fail the run with node_error and a clear message."""
    fails(run_steps(files, [(node, inputs)]), text)


def test_file_nodes_without_storage_fail_clearly():
    """A run without file services (a bare run_board) fails the file node, saying why."""
    b = BoardBuilder()
    start = b.add("events_simple")
    node = b.add("read_to_string", path=p("a.txt"))
    b.chain(start, node)
    fails(b.run(start), "need app storage")


def test_directory_nodes_give_scoped_paths(files):
    """Each Directories node gives its folder's root; node scope adds the node's id."""
    def directory(node_name, **inputs):
        b = BoardBuilder()
        start = b.add("events_simple")
        node = b.add(node_name, node_id="dirnode", **inputs)
        ret = b.add("events_generic_return_result")
        b.chain(start, ret)
        b.connect(node, "path", ret, "response")
        return ok(b.run(start, files=files))

    assert directory("path_from_storage_dir") == p("")
    assert directory("path_from_storage_dir", node_scope=True) == p("dirnode")
    assert directory("path_from_user_dir") == p("", "dirs__user")
    assert directory("path_from_upload_dir") == p("", "dirs__upload")
    assert directory("path_from_cache_dir") == p("", "dirs__cache")
    assert directory("path_from_cache_dir", user_scope=True, node_scope=True) == p("dirnode", "dirs__cache_user")
    assert directory("path_virtual_dir", name="tmp") == p("", "virtual_dir_tmp")


def test_user_dir_without_a_user_fails(storage):
    """A run whose job names no user cannot use user folders."""
    files = FileServices.from_storage(storage, "app1", None)
    fails(run_steps(files, [("write_string", {"path": p("a", "dirs__user"), "content": ""})]), "no user")


def test_exists_follows_yes_or_no(files):
    """Path Exists? fires Yes for a file and No for a missing one or a folder."""
    def exists(path):
        b = BoardBuilder()
        start = b.add("events_simple")
        write = b.add("write_string", path=p("d/f.txt"), content="x")
        node = b.add("path_exists", path=p(path))
        yes = b.add("events_generic_return_result", response="yes")
        no = b.add("events_generic_return_result", response="no")
        b.chain(start, write, node)
        b.connect(node, "exec_out_exists", yes, "exec_in")
        b.connect(node, "exec_out_missing", no, "exec_in")
        return ok(b.run(start, files=files))

    assert [exists("d/f.txt"), exists("d/g.txt"), exists("d")] == ["yes", "no", "no"]


def test_head_range_and_hash(files):
    """Head gives size and a date; Get Range the slice; Hash File the BLAKE3 of the content."""
    write = ("write_string", {"path": p("f.txt"), "content": "0123456789"})
    assert ok(run_steps(files, [write, ("path_head", {"path": p("f.txt")})], (1, "size"))) == 10
    date = ok(run_steps(files, [write, ("path_head", {"path": p("f.txt")})], (1, "last_modified")))
    assert date.endswith("Z") and date[:2] == "20"
    rng = ("path_get_range", {"path": p("f.txt"), "from": 3, "to": 6})
    assert ok(run_steps(files, [write, rng], (1, "bytes"))) == list(b"345")
    digest = ok(run_steps(files, [write, ("path_hash_file", {"path": p("f.txt")})], (1, "hash")))
    assert digest == blake3.blake3(b"0123456789").hexdigest()
    fails(run_steps(files, [write, ("path_get_range", {"path": p("f.txt"), "from": -1, "to": 2})]), "invalid range")


def test_listing_nodes(files):
    """List Paths/Folders/With Offset return FlowPaths of the same folder, sorted."""
    writes = [("write_string", {"path": p(name), "content": name}) for name in ["a/1", "a/b/2", "a/b/c/3", "z"]]
    listed = ok(run_steps(files, [*writes, ("path_list_paths", {"prefix": p("a")})], (4, "paths")))
    assert listed == [p("a/1"), p("a/b/2"), p("a/b/c/3")]
    flat = ok(run_steps(files, [*writes, ("path_list_paths", {"prefix": p(""), "recursive": False})], (4, "paths")))
    assert flat == [p("z")]
    folders = ok(run_steps(files, [*writes, ("path_list_folders", {"prefix": p("")})], (4, "folders")))
    assert folders == [p("a/"), p("a/b/"), p("a/b/c/")]
    # a listed folder (with its trailing '/') is a valid prefix again
    again = ok(run_steps(files, [*writes, ("path_list_paths", {"prefix": p("a/b/")})], (4, "paths")))
    assert again == [p("a/b/2"), p("a/b/c/3")]
    paged = ok(run_steps(files, [*writes, ("path_list_with_offset", {"prefix": p(""), "offset": p("a/b/2")})],
                         (4, "paths")))
    assert paged == [p("a/b/c/3"), p("z")]


def test_copy_rename_delete(files, storage):
    """Copy and Rename work within and across the app's folders; Delete removes one file or a whole folder."""
    steps = [("write_string", {"path": p("a/x.txt"), "content": "x"}),
             ("storage_copy", {"from": p("a/x.txt"), "to": p("x.txt", "dirs__user")}),
             ("path_rename", {"from": p("a/x.txt"), "to": p("a/y.txt")}),
             ("write_string", {"path": p("a/z.txt"), "content": "z"}),
             ("storage_delete", {"path": p("a/z.txt")}),
             ("storage_delete", {"path": p("nothing.txt")})]
    ok(run_steps(files, steps))
    assert storage.list("apps/app1/files") == ["apps/app1/files/storage/a/y.txt", "apps/app1/files/users/user1/x.txt"]
    fails(run_steps(files, [("write_string", {"path": p("b.txt"), "content": "b"}),
                            ("path_rename", {"from": p("b.txt"), "to": p("a/y.txt")})]), "overwrite is off")
    ok(run_steps(files, [("path_rename", {"from": p("b.txt"), "to": p("a/y.txt"), "overwrite": True})]))
    assert storage.get("apps/app1/files/storage/a/y.txt") == b"b"
    ok(run_steps(files, [("storage_delete", {"path": p("a"), "recursive": True})]))
    assert storage.list("apps/app1/files/storage") == []


def test_virtual_dir_files_last_one_run(files, storage):
    """Files in a virtual folder are readable within the run, never stored, and gone in the next run."""
    vdir = {"path": "f.txt", "store_ref": "virtual_dir_/virtual", "cache_store_ref": None}
    steps = [("write_string", {"path": vdir, "content": "mem"}), ("read_to_string", {"path": vdir})]
    assert ok(run_steps(files, steps, (1, "content"))) == "mem"
    assert storage.list("apps") == []
    fails(run_steps(files, [("read_to_string", {"path": vdir})]), "file not found")


def test_sign_url(files, storage):
    """On S3 Sign URL(s) give presigned URLs that fetch the object; the local folder fails the node."""
    write = ("write_string", {"path": p("s.txt"), "content": "signed"})
    result = run_steps(files, [write, ("sign_urls", {"paths": [p("s.txt"), p("s.txt")], "expiration": 60})],
                       (1, "signed_urls"))
    if storage.__class__.__name__ == "S3Storage":
        urls = ok(result)
        assert len(urls) == 2 and "apps/app1/files/storage/s.txt" in urls[0]
        import requests  # moto answers plain HTTP requests to S3 URLs too: fetch through the signed URL

        assert requests.get(urls[0], timeout=5).content == b"signed"
        fails(run_steps(files, [("sign_url", {"path": p("s.txt"), "method": "POST"})]), "POST")
    else:
        fails(result, "need S3")


@pytest.mark.parametrize("node,output,inputs,expected", [
    ("child", "path", {"parent_path": p("a"), "child_name": "b/c.txt"}, p("a/b/c.txt")),
    ("child", "path", {"parent_path": p(""), "child_name": "/x//y/"}, p("x/y")),
    ("extension", "extension", {"path": p("a/b.tar.gz")}, "gz"),
    ("extension", "extension", {"path": p("a/noext")}, ""),
    ("extension", "extension", {"path": p(".profile")}, "profile"),
    ("filename", "filename", {"path": p("a/b.tar.gz")}, "b.tar.gz"),
    ("filename", "filename", {"path": p("a/b.tar.gz"), "remove_extension": True}, "b.tar"),
    ("set_filename", "out_path", {"in_path": p("a/b.csv"), "filename": "c"}, p("a/c.csv")),
    ("set_filename", "out_path", {"in_path": p("a/b.csv"), "filename": "c.txt"}, p("a/c.txt")),
    ("set_filename", "out_path", {"in_path": p("a/b.csv"), "filename": ""}, p("a/b.csv")),
    ("raw_path", "raw_path", {"path": p("r/s.txt")}, "r/s.txt"),
    ("from_raw_path", "path", {"base_path": p("x", "dirs__user"), "raw_path": "k/l.txt"}, p("k/l.txt", "dirs__user")),
    ("path_replace_segment", "out_path", {"in_path": p("a/b/a"), "from": "a", "to": "z"}, p("z/b/z")),
    ("path_replace_segment", "out_path", {"in_path": p("a/b/a"), "from": "a", "to": "z", "replace_all": False},
     p("z/b/a")),
])
def test_pure_path_nodes(node, output, inputs, expected):
    """The path-text nodes rewrite only the path and keep the folder."""
    result = run_pure(node, output, **inputs)
    assert result.status == "completed", result
    assert result.result == expected


@pytest.mark.parametrize("node,output,inputs", [
    ("child", "path", {"parent_path": p("a"), "child_name": "../../x"}),
    ("from_raw_path", "path", {"base_path": p(""), "raw_path": "/etc/passwd"}),
    ("path_replace_segment", "out_path", {"in_path": p("a/b"), "from": "b", "to": ".."}),
    ("set_filename", "out_path", {"in_path": p("a/b"), "filename": "c\\d"}),
])
def test_path_text_cannot_escape(node, output, inputs):
    """A rewrite that would leave the folder fails the node instead of producing the path."""
    result = run_pure(node, output, **inputs)
    assert (result.status, result.reason) == ("failed", "node_error"), result


@pytest.mark.parametrize("path,ext,expected", [("a/b.csv", "json", "a/b.json"), ("a/b", ".txt", "a/b.txt"),
                                                ("a/b.c.d", "", "a/b.c"), ("x.csv.csv", "txt", "x.csv.txt")])
def test_parent_and_set_extension(path, ext, expected):
    """Set Extension replaces only the last extension; Parent drops the last segment."""
    b = BoardBuilder()
    start = b.add("events_simple")
    node = b.add("set_extension", path=p(path), extension=ext)
    par = b.add("parent")
    ret = b.add("events_generic_return_result")
    b.chain(start, node, par, ret)
    b.connect(node, "path_out", par, "path")
    b.connect(par, "parent_path", ret, "response")
    result = b.run(start)
    assert result.status == "completed", result
    assert result.result == p(expected.rpartition("/")[0])
    assert run_pure("raw_path", "raw_path", path=p(path)).result == path


@pytest.fixture
def s3_env(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="external")
        yield


def run_external(files, node="external_s3_store", **inputs):
    """Open an external store, write 'hi' to data/x.txt inside it, read it back and return it."""
    settings = {"bucket": "external", "access_key_id": "k", "secret_access_key": "s", "prefix": "/team/", **inputs}
    b = BoardBuilder()
    start = b.add("events_simple")
    store = b.add(node, **settings)
    child = b.add("child", child_name="data/x.txt")
    write = b.add("write_string", content="hi")
    read = b.add("read_to_string")
    ret = b.add("events_generic_return_result")
    b.chain(start, store, write, read, ret)
    b.connect(store, "path", child, "parent_path")
    b.connect(child, "path", write, "path")
    b.connect(child, "path", read, "path")
    b.connect(read, "content", ret, "response")
    return b.run(start, files=files)


def test_external_s3_store_stays_inside_its_prefix(s3_env, tmp_path):
    """With the setting on, a board's own bucket opens as a folder: files go under the prefix."""
    from boardrun.engine.files import FilesConfig

    files = FileServices.local(tmp_path, "app1", "user1", FilesConfig(allow_external_s3=True))
    for node in ("external_s3_store", "external_s3_express_store"):
        assert ok(run_external(files, node)) == "hi"
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="external")["Contents"]]
    assert keys == ["team/data/x.txt"]


@pytest.mark.parametrize("config,inputs,text", [
    (False, {}, "ENGINE_FILES_ALLOW_EXTERNAL_S3"),
    (True, {"credential_mode": "environment"}, "server's own credentials"),
    (True, {"secret_access_key": ""}, "are required"),
    (True, {"endpoint": "http://127.0.0.1:9000"}, "egress refused"),
    (True, {"endpoint": "ftp://example.com"}, "http(s) URL"),
    (True, {"prefix": "a/../b"}, "may not leave its folder"),
])
def test_external_s3_store_refusals(s3_env, tmp_path, config, inputs, text):
    """Disabled by default; the server's credentials, private endpoints and escaping prefixes are refused."""
    from boardrun.engine.files import FilesConfig

    files = FileServices.local(tmp_path, "app1", "user1", FilesConfig(allow_external_s3=config))
    fails(run_external(files, **inputs), text)


def test_external_store_paths_do_not_outlive_their_run(tmp_path):
    """A FlowPath naming an external store opened by another run fails clearly."""
    path = {"path": "x", "store_ref": "external_s3_0123", "cache_store_ref": None}
    fails(run_steps(FileServices.local(tmp_path, "a", "u"), [("read_to_string", {"path": path})]), "no external store")


def test_byte_outputs_respect_the_array_limit(files):
    """Reading more bytes than the run's max_array_length fails instead of building a huge array."""
    from boardrun.engine import RunLimits

    steps = [("write_string", {"path": p("big.txt"), "content": "x" * 11}), ("path_get", {"path": p("big.txt")})]
    b = BoardBuilder()
    start = b.add("events_simple")
    ids = [b.add(name, **inputs) for name, inputs in steps]
    b.chain(start, *ids)
    fails(b.run(start, files=files, limits=RunLimits(max_array_length=10)), "more than the limit of 10")


def test_local_path_to_path_stays_in_the_app_storage_folder(files):
    """Local Path to Path reads its text inside the app's storage folder: the FlowPath it gives reads the
    file written there, and absolute paths or '..' (the server's own disk, another app) fail the node."""
    steps = [("write_string", {"path": p("in/a.txt"), "content": "hi"}), ("pathbuf_to_path", {"pathbuf": "in/a.txt"})]
    assert ok(run_steps(files, steps, (1, "path"))) == p("in/a.txt")
    b = BoardBuilder()
    start = b.add("events_simple")
    to_path = b.add("pathbuf_to_path", pathbuf="in/a.txt")
    read = b.add("read_to_string")
    ret = b.add("events_generic_return_result")
    b.chain(start, to_path, read, ret)
    b.connect(to_path, "path", read, "path")
    b.connect(read, "content", ret, "response")
    files.write(files.locate(p("in/a.txt"), "p"), b"hi")
    assert ok(b.run(start, files=files)) == "hi"
    assert ok(run_steps(files, [("pathbuf_to_path", {"pathbuf": "in/"})], (0, "path"))) == p("in")
    fails(run_steps(files, [("pathbuf_to_path", {"pathbuf": "/etc/passwd"})]), "is absolute")
    fails(run_steps(files, [("pathbuf_to_path", {"pathbuf": "/"})]), "is absolute")
    fails(run_steps(files, [("pathbuf_to_path", {"pathbuf": "../../app2/files/storage/x"})]), "may not leave")
