"""Events/Chat attachments from the app's files: From Path signs a real S3 URL (moto), Extract
Attachments downloads from a real HTTP server on 127.0.0.1 and data: URLs into a virtual folder."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import pytest

import files_testkit
from boardrun.engine.files import FileServices, flow_path
from engine_testkit import BoardBuilder, failure_of, logged, value_of
from http_testkit import LOCAL, QuietHandler, serve

storage = files_testkit.storage  # the local-folder / moto-S3 fixture, used by name
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==")


class Files(QuietHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        if self.route == "/report":
            self.reply(200, b"%PDF-1.4 report", "application/pdf",
                       {"Content-Disposition": 'attachment; filename="Q3 report.pdf"'})
        elif self.route == "/img/cat.png":
            self.reply(200, PNG, "image/png")
        elif self.route == "/noname":
            self.reply(200, b"plain words", "text/plain")
        else:
            self.reply(404, b"{}")


def _run(node: str, files: FileServices | None, egress=None, **inputs):
    b = BoardBuilder()
    start = b.add("events_simple")
    run = b.add(node, **inputs)
    ret = b.add("events_generic_return_result")
    b.chain(start, run, ret)
    b.connect(run, "attachment" if node.endswith("from_path") else "paths", ret, "response")
    return b.run(start, files=files, egress=egress)


def test_from_path_signs_a_get_url(storage):
    """On S3 the attachment is a presigned GET URL with Flow-Like's fields; a local folder cannot sign."""
    files = FileServices.from_storage(storage, "app1", "user1")
    path = flow_path("dirs__storage", "docs/Q3.pdf")
    files.write(files.locate(path, "path"), b"%PDF-1.4")
    result = _run("events_chat_attachment_from_path", files, path=path, page=2, anchor="intro", expiration=60)
    if storage.__class__.__name__ == "LocalStorage":
        failure_of(result, "signed URLs need S3 storage")
        return
    attachment = value_of(result)
    url = urlsplit(attachment.pop("url"))
    assert url.path.endswith("/apps/app1/files/storage/docs/Q3.pdf")
    query = parse_qs(url.query)
    assert "Signature" in query or "X-Amz-Signature" in query
    assert attachment == {"preview_text": None, "thumbnail_url": None, "name": "Q3.pdf", "size": None,
                          "type": "application/pdf", "anchor": "intro", "page": 2}
    named = value_of(_run("events_chat_attachment_from_path", files, path=path, name="Report", preview_text="Sales"))
    assert (named["name"], named["preview_text"], named["page"], named["anchor"]) == ("Report", "Sales", None, None)


def test_from_path_of_a_missing_file_fails(storage):
    files = FileServices.from_storage(storage, "app1", "user1")
    failure_of(_run("events_chat_attachment_from_path", files, path=flow_path("dirs__storage", "gone.pdf")),
               "file 'gone.pdf' not found")


def test_extract_attachments_downloads_into_a_virtual_folder(tmp_path):
    """URLs, named attachments, data: URLs and the images of the history's last message are downloaded;
    names come from Content-Disposition, the URL or a hash, sanitised and made unique."""
    files = FileServices.local(tmp_path, "app1", "user1")
    with serve(Files) as base:
        history = {"model": "", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": f"{base}/img/cat.png"}}]}]}
        data_url = "data:text/plain;base64," + base64.b64encode(b"hello").decode()
        attachments = [f"{base}/report", {"url": f"{base}/noname", "name": "my notes.txt"},
                       {"url": f"{base}/noname", "name": "my notes.txt"}, data_url, f"{base}/noname"]
        b = BoardBuilder()
        start = b.add("events_simple")
        run = b.add("ai_gen_llm_history_extract_attachments", history=history, attachments=attachments)
        chain = [start, run]
        for index in (1, 3):  # the downloads read back through the virtual folder within the run
            get = b.add("array_get", index=index)
            read = b.add("read_to_string")
            log = b.add("log_info")
            b.connect(run, "paths", get, "array_in")
            b.connect(get, "element", read, "path")
            b.connect(read, "content", log, "message")
            chain += [read, log]
        ret = b.add("events_generic_return_result")
        b.chain(*chain, ret)
        b.connect(run, "paths", ret, "response")
        result, lines = logged(b, start, files=files, egress=LOCAL)
    paths = value_of(result)
    assert {p["store_ref"] for p in paths} == {f"virtual_dir_{run}"}
    names = [p["path"] for p in paths]
    assert names[:3] == ["Q3-report.pdf", "my-notes.txt", "my-notes-1.txt"]
    assert names[3].startswith("blob-") and names[3].endswith(".txt") and len(names[3]) == len("blob-") + 16 + 4
    assert names[4] == "noname.txt" and names[5] == "cat.png"
    assert lines == ["plain words", "hello"]


@pytest.mark.parametrize("attachment, egress, message", [
    ("{base}/missing", LOCAL, "downloading attachment {base}/missing failed: HTTP 404"),
    ("{base}/report", None, "egress refused"),
    ("ftp://example.com/a.txt", LOCAL, "attachment URL scheme 'ftp' is not supported"),
    ("data:text/plain;base64,@@@", LOCAL, "not valid base64"),
    ({"name": "x"}, LOCAL, "must be a URL or an object with a 'url'"),
])
def test_extract_attachments_failures(tmp_path, attachment, egress, message):
    files = FileServices.local(tmp_path, "app1", "user1")
    with serve(Files) as base:
        value = attachment.format(base=base) if isinstance(attachment, str) else attachment
        result = _run("ai_gen_llm_history_extract_attachments", files, egress, attachments=[value])
        failure_of(result, message.format(base=base))
