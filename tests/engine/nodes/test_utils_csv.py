"""Utils/CSV: the buffered reader streams a CSV file of the app's folders (local and S3 through moto) in chunks."""

from __future__ import annotations

import pytest

from boardrun.engine import RunLimits
from boardrun.engine.files import FileServices, flow_path
import files_testkit
from engine_testkit import BoardBuilder

storage = files_testkit.storage  # the local-folder / moto-S3 fixture, used by name


@pytest.fixture
def files(storage):
    return FileServices.from_storage(storage, "app1", "user1")


def read_chunks(files, content: bytes | None, limits=None, **inputs):
    """Write ``content`` to data.csv, read it with the node and return the chunks its body saw, in order."""
    if content is not None:
        scratch = files.for_run()
        scratch.write(scratch.locate(flow_path("dirs__storage", "data.csv"), "p"), content)
    b = BoardBuilder()
    start = b.add("events_simple")
    var = b.variable("seen", [], data_type="Generic")
    reader = b.add("csv_buffered_reader", csv=flow_path("dirs__storage", "data.csv"), **inputs)
    push = b.add("array_push_ref", var_ref=var)
    get = b.add("variable_get", var_ref=var)
    ret = b.add("events_generic_return_result")
    b.chain(start, reader)
    b.connect(reader, "for_chunk", push, "exec_in")
    b.connect(reader, "chunk", push, "value")
    b.connect(reader, "exec_done", ret, "exec_in")
    b.connect(get, "value_ref", ret, "response")
    return b.run(start, files=files, limits=limits)


def ok(result):
    assert result.status == "completed", result
    return result.result


def fails(result, text):
    assert (result.status, result.reason) == ("failed", "node_error"), result
    assert text in result.error["message"], result.error


def test_rows_arrive_in_chunks_keyed_by_header(files):
    """Rows become objects of text values keyed by the header row; the last chunk may be short."""
    content = b'\xef\xbb\xbfname,qty\r\napple,1\r\n"pear, green",2\n\n"say ""hi""",3\n'
    assert ok(read_chunks(files, content, chunk_size=2)) == [
        [{"name": "apple", "qty": "1"}, {"name": "pear, green", "qty": "2"}],
        [{"name": 'say "hi"', "qty": "3"}],
    ]


def test_delimiter_and_a_header_only_file(files):
    """Another delimiter splits the fields; a file with only a header runs no body and still completes."""
    assert ok(read_chunks(files, b"a;b\n1;2\n", delimiter=";")) == [[{"a": "1", "b": "2"}]]
    assert ok(read_chunks(files, b"a;b\n", delimiter=";")) == []
    assert ok(read_chunks(files, b"")) == []


def test_large_file_streams_in_many_chunks(files):
    """A file larger than one read (1 MiB) is read to the end, row by row, in order."""
    rows = 60_000
    content = b"i,text\n" + b"".join(b"%d,%s\n" % (i, b"x" * 20) for i in range(rows))
    chunks = ok(read_chunks(files, content, chunk_size=10_000))
    assert len(chunks) == 6 and [row["i"] for chunk in chunks for row in chunk] == [str(i) for i in range(rows)]


@pytest.mark.parametrize("content,inputs,text", [
    (b'a,b\n"unclosed,1\n', {}, "malformed CSV"),
    (b'a,b\n"x"y,1\n', {}, "malformed CSV"),
    (b"a,b\n1,2,3\n", {}, "CSV line 2 has 3 fields, the header has 2"),
    (b"a,b\n", {"chunk_size": 0}, "'chunk_size' must be at least 1"),
    (b"a,b\n", {"delimiter": ""}, "'delimiter' must be one character"),
    (b"a,b\n", {"delimiter": ";;"}, "'delimiter' must be one character"),
    (None, {}, "file not found: 'data.csv'"),
])
def test_bad_input_fails_the_node(files, content, inputs, text):
    """Malformed CSV, rows of the wrong width, bad settings and a missing file fail with node_error."""
    fails(read_chunks(files, content, **inputs), text)


def test_chunk_count_is_capped_by_the_loop_limit(files):
    """More chunks than max_loop_iterations fails the node instead of running on."""
    result = read_chunks(files, b"a\n1\n2\n3\n", chunk_size=1, limits=RunLimits(max_loop_iterations=2))
    fails(result, "more than 2 chunks")
