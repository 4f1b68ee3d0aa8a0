"""Image nodes end to end through POST /jobs/submit on the embedded server: a job writes a QR code
as a PNG in the app's storage and a later job reads it back and decodes it; a broken file fails cleanly."""

from __future__ import annotations

from tests.engine.engine_testkit import BoardBuilder


def _png_path(b: BoardBuilder, name: str) -> str:
    storage = b.add("path_from_storage_dir")
    child = b.add("child", child_name=name)
    b.connect(storage, "path", child, "parent_path")
    return child


def write_board() -> dict:
    """Make a QR code of the payload's text and write it to qr.png."""
    b = BoardBuilder()
    start = b.add("events_generic", "start")
    path = _png_path(b, "qr.png")
    text = b.add("struct_get", field="text")
    qr = b.add("write_qrcode", scale=4)
    write = b.add("write_image", type="PNG")
    ret = b.add("events_generic_return_result", response="written")
    b.chain(start, qr, write, ret)
    b.connect(start, "payload", text, "struct")
    b.connect(text, "value", qr, "data")
    b.connect(qr, "image_out", write, "image_in")
    b.connect(path, "path", write, "path")
    return b.build()


def read_board() -> dict:
    """Read qr.png, decode its codes and return the first text."""
    b = BoardBuilder()
    start = b.add("events_generic", "start")
    path = _png_path(b, "qr.png")
    read = b.add("read_image")
    codes = b.add("read_barcodes")
    first = b.add("array_get", index=0)
    text = b.add("struct_get", field="text")
    ret = b.add("events_generic_return_result")
    b.chain(start, read, codes, ret)
    b.connect(path, "path", read, "path")
    b.connect(read, "image_out", codes, "image_in")
    b.connect(codes, "results", first, "array_in")
    b.connect(first, "element", text, "struct")
    b.connect(text, "value", ret, "response")
    return b.build()


def test_qr_code_written_by_one_job_is_read_by_the_next(workspace):
    """The QR code a job writes to the app's storage decodes, in a second job, to the payload's text."""
    workspace.put_board("write", write_board())
    workspace.put_board("read", read_board())
    written = workspace.submit("write", payload={"text": "hello from a job"}, mode="sync").json()
    assert written["status"] == "completed", written["error"]
    read = workspace.submit("read", payload={}, mode="sync").json()
    assert read["status"] == "completed", read["error"]
    assert read["result"] == "hello from a job"


def test_a_broken_image_fails_the_job_cleanly(workspace):
    """A stored file that is not an image fails the reading job with node_error."""
    b = BoardBuilder()
    start = b.add("events_generic", "start")
    path = _png_path(b, "qr.png")
    write = b.add("write_string", content="not a png")
    read = b.add("read_image")
    b.chain(start, write, read)
    b.connect(path, "path", write, "path")
    b.connect(path, "path", read, "path")
    workspace.put_board("broken", b.build())
    failed = workspace.submit("broken", payload={}, mode="sync").json()
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "node_error" and "'qr.png' is not an image" in failed["error"]["message"]
