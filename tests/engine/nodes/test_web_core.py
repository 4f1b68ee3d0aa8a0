"""Web: HTTP Download saves a 2xx answer's body in the app's folders (local folder and S3), saves
nothing for an error answer, and obeys the egress policy and the path confinement."""

from __future__ import annotations

import pytest

import files_testkit
from boardrun.engine import EgressPolicy
from boardrun.engine.files import FileServices, flow_path
from engine_testkit import BoardBuilder
from http_testkit import QuietHandler, serve

storage = files_testkit.storage  # the local-folder / moto-S3 fixture, used by name
LOCAL = EgressPolicy(allow_private=True, timeout_seconds=5.0)


class Files(QuietHandler):
    def do_GET(self):
        if self.route == "/report.csv":
            self.reply(200, b"a,b\n1,2\n" * 1000, "text/csv")
        else:
            self.reply(404, b"<html>no such file</html>", "text/html")


@pytest.fixture(scope="module")
def site():
    with serve(Files) as url:
        yield url


@pytest.fixture
def files(storage):
    return FileServices.from_storage(storage, "app1", "user1")


def download(url: str, path: dict, files, policy=LOCAL):
    b = BoardBuilder()
    start = b.add("events_simple")
    make = b.add("http_make_request", url=url, method="GET")
    node = b.add("http_download", flow_path=path)
    ret = b.add("events_generic_return_result", response="saved")
    b.connect(make, "request", node, "request")
    b.chain(start, node)
    b.connect(node, "exec_success", ret, "exec_in")
    return b.run(start, egress=policy, files=files)


def test_download_saves_the_body(site, files):
    """A 200 answer is written to the path; reading it back gives the same bytes."""
    target = flow_path("dirs__storage", "imports/report.csv")
    result = download(f"{site}/report.csv", target, files)
    assert (result.status, result.result) == ("completed", "saved"), result
    assert files.read(files.locate(target, "path")) == b"a,b\n1,2\n" * 1000


def test_error_answer_saves_nothing(site, files):
    """A 404 fails the node (node_error naming the status) and writes no file."""
    target = flow_path("dirs__storage", "missing.html")
    result = download(f"{site}/missing", target, files)
    assert (result.status, result.reason) == ("failed", "node_error") and "HTTP 404" in result.error["message"]
    assert not files.exists(files.locate(target, "path"))


def test_download_obeys_egress_and_confinement(site, files):
    """The default policy refuses the loopback address; a path escaping the app's folder is refused."""
    refused = download(f"{site}/report.csv", flow_path("dirs__storage", "x.csv"), files, policy=EgressPolicy())
    assert refused.reason == "node_error" and "egress refused" in refused.error["message"]
    escape = download(f"{site}/report.csv", flow_path("dirs__storage", "../other-app/x.csv"), files)
    assert escape.reason == "node_error"


def test_download_without_app_storage_fails_clearly(site):
    """A run started without file services (a plain engine call) fails the node, naming the reason."""
    result = download(f"{site}/report.csv", flow_path("dirs__storage", "x.csv"), None)
    assert result.reason == "node_error" and "app storage" in result.error["message"]
