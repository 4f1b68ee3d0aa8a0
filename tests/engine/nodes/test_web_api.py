"""Web/API request, response and streaming nodes, against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import json
import threading

import pytest

from boardrun.engine import CancelToken, EgressPolicy
from engine_testkit import BoardBuilder, run_pure
from http_testkit import LOCAL, QuietHandler, serve

REQUEST = {"url": "https://api.example.com/items", "method": "GET", "headers": None, "body": None}


class Echo(QuietHandler):
    """Answers with what it received: method, path, headers (lower-case) and the body as text and bytes.
    /missing answers 404, /bad-redirect redirects to a malformed URL."""

    def _echo(self) -> None:
        if self.route == "/missing":
            self.reply_json({"error": "nope"}, status=404)
            return
        if self.route == "/bad-redirect":
            self.reply(302, b"", headers={"Location": "http://[::1"})
            return
        body = self.read_body()
        self.reply_json({"method": self.command, "path": self.path, "body": body.decode("latin-1"),
                         "headers": {k.lower(): v for k, v in self.headers.items()}},
                        status=201 if self.command == "POST" else 200)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _echo


@pytest.fixture(scope="module")
def echo():
    with serve(Echo) as url:
        yield url


def send_board(request_nodes: list[tuple[str, dict]], url: str, method: str = "GET") -> tuple[BoardBuilder, str]:
    """make_request -> the given request nodes (pure, chained on request/request_out) -> http_fetch ->
    to_json -> return the echoed request."""
    b = BoardBuilder()
    start = b.add("events_simple")
    previous, pin = b.add("http_make_request", url=url, method=method), "request"
    for name, inputs in request_nodes:
        node = b.add(name, **inputs)
        b.connect(previous, pin, node, "request")
        previous, pin = node, "request_out"
    fetch = b.add("http_fetch")
    to_json = b.add("http_response_to_json")
    ret = b.add("events_generic_return_result")
    b.connect(previous, pin, fetch, "request")
    b.chain(start, fetch)
    b.connect(fetch, "exec_success", to_json, "exec_in")
    b.connect(fetch, "response", to_json, "response")
    b.connect(to_json, "exec_out", ret, "exec_in")
    b.connect(to_json, "struct", ret, "response")
    return b, start


# -- request nodes: what they change, and what the server then receives ----------------------------

@pytest.mark.parametrize("node,inputs,expected", [
    ("http_set_header", {"name": "X-Api-Key", "value": "k1"}, {"X-Api-Key": "k1"}),
    ("http_set_accept", {}, {"Accept": "application/json"}),
    ("http_set_content_type", {"content_type": "text/csv"}, {"Content-Type": "text/csv"}),
    ("http_set_bearer_auth", {"token": "t0k"}, {"Authorization": "Bearer t0k"}),
    ("http_set_headers", {"headers": {"A": "1", "B": "2"}}, {"A": "1", "B": "2"}),
])
def test_header_setters(node, inputs, expected):
    """Each header setter puts exactly its header(s) on a request that had none."""
    result = run_pure(node, "request_out", request=REQUEST, **inputs)
    assert result.result == {**REQUEST, "headers": expected}


def test_set_header_replaces_any_spelling():
    """Setting a header replaces the same name in another case instead of sending both."""
    request = {**REQUEST, "headers": {"content-type": "text/plain", "X-Keep": "1"}}
    result = run_pure("http_set_content_type", "request_out", request=request)
    assert result.result["headers"] == {"X-Keep": "1", "Content-Type": "application/json"}


def test_set_headers_merge_or_replace():
    """http_set_headers adds to existing headers with merge on, and replaces them all with merge off."""
    request = {**REQUEST, "headers": {"Old": "x"}}
    merged = run_pure("http_set_headers", "request_out", request=request, headers={"New": "y"})
    replaced = run_pure("http_set_headers", "request_out", request=request, headers={"New": "y"}, merge=False)
    assert merged.result["headers"] == {"Old": "x", "New": "y"}
    assert replaced.result["headers"] == {"New": "y"}


@pytest.mark.parametrize("node,output,inputs,expected", [
    ("http_get_url", "url", {}, "https://api.example.com/items"),
    ("http_get_method", "method", {}, "GET"),
    ("http_get_headers", "headers", {}, {}),
    ("http_get_header", "found", {"header": "accept"}, True),
    ("http_get_header", "value", {"header": "ACCEPT"}, "text/html"),
    ("http_get_header", "found", {"header": "X-None"}, False),
    ("http_get_header", "value", {"header": "X-None"}, ""),
])
def test_request_getters(node, output, inputs, expected):
    """The getters read url, method and headers; header lookup ignores case and reports absence."""
    request = REQUEST if node != "http_get_header" else {**REQUEST, "headers": {"Accept": "text/html"}}
    assert run_pure(node, output, request=request, **inputs).result == expected


def test_set_url_and_method():
    """http_set_url and http_set_method change only their field."""
    assert run_pure("http_set_url", "request_out", request=REQUEST, url="https://b.example/x").result == {
        **REQUEST, "url": "https://b.example/x"}
    assert run_pure("http_set_method", "request_out", request=REQUEST, method="DELETE").result == {
        **REQUEST, "method": "DELETE"}


def test_headers_and_auth_reach_the_server(echo):
    """Headers set on the request (bearer auth, custom, accept) arrive at the server."""
    b, start = send_board([("http_set_bearer_auth", {"token": "abc"}), ("http_set_header", {"name": "X-A", "value": "1"}),
                           ("http_set_accept", {"accept": "text/plain"})], echo + "/h")
    headers = b.run(start, egress=LOCAL).result["headers"]
    assert (headers["authorization"], headers["x-a"], headers["accept"]) == ("Bearer abc", "1", "text/plain")


def test_string_body_is_sent_as_text(echo):
    """A string body is sent as its UTF-8 text, not JSON-quoted, and gets no JSON content type."""
    b, start = send_board([("http_set_string_body", {"body": "plain text"})], echo + "/s", "POST")
    got = b.run(start, egress=LOCAL).result
    assert got["body"] == "plain text" and "content-type" not in got["headers"]


def test_bytes_body_is_sent_unchanged(echo):
    """A bytes body is sent byte for byte (including bytes that are not UTF-8)."""
    b, start = send_board([("http_set_bytes_body", {"body": [0, 255, 10, 65]}),
                           ("http_set_content_type", {"content_type": "application/octet-stream"})], echo + "/b", "PUT")
    got = b.run(start, egress=LOCAL).result
    assert got["body"].encode("latin-1") == bytes([0, 255, 10, 65])
    assert got["headers"]["content-type"] == "application/octet-stream"


def test_struct_body_is_sent_as_json(echo):
    """A struct body is sent as JSON with a JSON content type."""
    b, start = send_board([("http_set_struct_body", {"body": {"a": [1, "é"]}})], echo + "/j", "PATCH")
    got = b.run(start, egress=LOCAL).result
    assert json.loads(got["body"].encode("latin-1")) == {"a": [1, "é"]}
    assert got["headers"]["content-type"] == "application/json"


def test_form_body_is_url_encoded(echo):
    """Form fields are encoded (sorted, spaces as '+', non-text values as JSON) with the form content type."""
    fields = {"b": "x y&z", "a": 1, "c": True}
    b, start = send_board([("http_set_form_body", {"fields": fields})], echo + "/f", "POST")
    got = b.run(start, egress=LOCAL).result
    assert got["body"] == "a=1&b=x+y%26z&c=true"
    assert got["headers"]["content-type"] == "application/x-www-form-urlencoded"


def test_form_body_keeps_existing_content_type():
    """With a content type already set (any case), http_set_form_body leaves it alone."""
    request = {**REQUEST, "headers": {"content-type": "text/x-custom"}}
    result = run_pure("http_set_form_body", "request_out", request=request, fields={"k": "v"})
    assert result.result["headers"] == {"content-type": "text/x-custom"}
    assert (result.result["body"], result.result["body_type"]) == ("k=v", "String")


# -- response nodes --------------------------------------------------------------------------------

RESPONSE = {"status_code": 404, "headers": {"content-type": "text/plain"}, "body": list("hé".encode("utf-8")) + [0xFF]}


@pytest.mark.parametrize("node,output,inputs,expected", [
    ("http_response_get_status", "status_code", {}, 404),
    ("http_response_is_success", "is_success", {}, False),
    ("http_response_get_headers", "headers", {}, {"content-type": "text/plain"}),
    ("http_response_get_header", "value", {"header": "Content-Type"}, "text/plain"),
    ("http_response_get_header", "found", {"header": "etag"}, False),
])
def test_response_readers(node, output, inputs, expected):
    """The pure response readers report status, success, headers and one header (any case)."""
    assert run_pure(node, output, response=RESPONSE, **inputs).result == expected


def _read_body(node: str, output: str, response) -> object:
    b = BoardBuilder()
    start = b.add("events_simple")
    reader = b.add(node, response=response)
    ret = b.add("events_generic_return_result")
    b.chain(start, reader)
    b.connect(reader, "exec_out", ret, "exec_in")
    b.connect(reader, output, ret, "response")
    return b.run(start)


def test_response_to_text_and_bytes():
    """To Text decodes UTF-8 (invalid bytes become U+FFFD); To Bytes returns the byte values."""
    assert _read_body("http_response_to_text", "text", RESPONSE).result == "hé\ufffd"
    assert _read_body("http_response_to_bytes", "bytes", RESPONSE).result == RESPONSE["body"]
    assert _read_body("http_response_to_bytes", "bytes", {**RESPONSE, "body": None}).result == []


def test_response_body_readers_reject_bad_responses():
    """To Text of a response without a body, and To Bytes of a body that is not bytes, fail naming the pin."""
    result = _read_body("http_response_to_text", "text", {**RESPONSE, "body": None})
    assert result.reason == "node_error" and "'response' has no body" in result.error["message"]
    result = _read_body("http_response_to_bytes", "bytes", {**RESPONSE, "body": [300]})
    assert result.reason == "node_error" and "'body' must be an array of byte values" in result.error["message"]


def test_fetched_response_through_readers(echo):
    """A real 404 from the server goes through http_fetch's Error output; the readers see it."""
    b = BoardBuilder()
    start = b.add("events_simple")
    make = b.add("http_make_request", url=echo + "/missing")
    fetch = b.add("http_fetch")
    status = b.add("http_response_get_status")
    ret = b.add("events_generic_return_result")
    b.connect(make, "request", fetch, "request")
    b.chain(start, fetch)
    b.connect(fetch, "exec_error", ret, "exec_in")
    b.connect(fetch, "response", status, "response")
    b.connect(status, "status_code", ret, "response")
    assert b.run(start, egress=LOCAL).result == 404


# -- streaming -------------------------------------------------------------------------------------

PARTS = [b"first part;", b"second part;", b"third part"]


class Streamer(QuietHandler):
    """/chunks: a chunked answer in three parts. /stall: one part, then cancels the run and waits.
    /big: more bytes than the test's cap."""

    cancel: CancelToken | None = None
    release = threading.Event()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def do_GET(self):
        self.send_response(200 if self.route != "/fail" else 500)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if self.route == "/stall":
            self._chunk(PARTS[0])
            Streamer.cancel.cancel()
            Streamer.release.wait(10)
            return
        for part in PARTS * (2000 if self.route == "/big" else 1):
            self._chunk(part)
        self.wfile.write(b"0\r\n\r\n")


def stream_board(url: str) -> tuple[BoardBuilder, str]:
    """streaming_http_fetch; each chunk is appended to variable 'chunks'; Success/Error return the
    response with 'chunks' and 'outcome' added."""
    b = BoardBuilder()
    var = b.variable("chunks", default=[])
    start = b.add("events_simple")
    make = b.add("http_make_request", url=url)
    fetch = b.add("streaming_http_fetch")
    b.connect(make, "request", fetch, "request")
    b.chain(start, fetch)
    get = b.add("variable_get", var_ref=var)
    push = b.add("array_push")
    store = b.add("variable_set", var_ref=var)
    b.connect(get, "value_ref", push, "array_in")
    b.connect(fetch, "streaming_response", push, "value")
    b.connect(fetch, "streaming_exec", push, "exec_in")
    b.connect(push, "exec_out", store, "exec_in")
    b.connect(push, "array_out", store, "value_in")
    for outcome in ("exec_success", "exec_error"):
        add_chunks = b.add("struct_set", field="chunks")
        add_outcome = b.add("struct_set", field="outcome", value=outcome)
        read = b.add("variable_get", var_ref=var)
        ret = b.add("events_generic_return_result")
        b.connect(fetch, outcome, add_chunks, "exec_in")
        b.connect(fetch, "response", add_chunks, "struct_in")
        b.connect(read, "value_ref", add_chunks, "value")
        b.connect(add_chunks, "struct_out", add_outcome, "struct_in")
        b.chain(add_chunks, add_outcome, ret)
        b.connect(add_outcome, "struct_out", ret, "response")
    return b, start


@pytest.fixture(scope="module")
def streamer():
    with serve(Streamer) as url:
        yield url
        Streamer.release.set()


def test_streaming_fetch_runs_body_per_chunk(streamer):
    """Every received chunk runs the On Stream body; the chunks add up to the body, then Success fires."""
    b, start = stream_board(streamer + "/chunks")
    result = b.run(start, egress=LOCAL)
    assert result.status == "completed", result.error
    value = result.result
    assert value["outcome"] == "exec_success" and value["chunks"]
    assert b"".join(bytes(c) for c in value["chunks"]) == b"".join(PARTS) == bytes(value["body"])


def test_streaming_fetch_error_status(streamer):
    """A non-2xx streamed answer still streams, then fires Error."""
    b, start = stream_board(streamer + "/fail")
    value = b.run(start, egress=LOCAL).result
    assert value["outcome"] == "exec_error" and value["status_code"] == 500


def test_streaming_fetch_size_cap(streamer):
    """A stream larger than max_response_bytes fails the node."""
    b, start = stream_board(streamer + "/big")
    result = b.run(start, egress=EgressPolicy(allow_private=True, max_response_bytes=5_000))
    assert result.error["node_name"] == "streaming_http_fetch" and "exceeds the limit" in result.error["message"]


def test_streaming_fetch_honours_cancel(streamer):
    """Cancelling the run while the stream waits for more data ends it as cancelled (after one read timeout)."""
    Streamer.cancel = CancelToken()
    b, start = stream_board(streamer + "/stall")
    result = b.run(start, egress=EgressPolicy(allow_private=True, timeout_seconds=0.5), cancel=Streamer.cancel)
    assert (result.status, result.reason) == ("cancelled", "cancelled")


# -- bad input -------------------------------------------------------------------------------------

@pytest.mark.parametrize("node,inputs,message", [
    ("http_set_header", {"request": "nope", "name": "a", "value": "b"}, "input 'request' must be an object"),
    ("http_set_header", {"request": {"url": 1, "method": "GET"}, "name": "a", "value": "b"}, "'url' must be a string"),
    ("http_set_header", {"request": {**REQUEST, "method": "BREW"}, "name": "a", "value": "b"}, "'method' must be one of"),
    ("http_set_header", {"request": REQUEST, "name": "", "value": "b"}, "'name' must not be empty"),
    ("http_set_header", {"request": REQUEST, "name": "a", "value": 5}, "input 'value' must be a string"),
    ("http_set_headers", {"request": REQUEST, "headers": {"a": 1}}, "input 'headers' must be an object of strings"),
    ("http_set_headers", {"request": {**REQUEST, "headers": []}, "headers": {}}, "request 'headers' must be"),
    ("http_set_method", {"request": REQUEST, "method": "BREW"}, "input 'method' must be one of"),
    ("http_set_bytes_body", {"request": REQUEST, "body": [1, 256]}, "input 'body' must be an array of byte values"),
    ("http_set_string_body", {"request": REQUEST, "body": 3}, "input 'body' must be a string"),
    ("http_set_form_body", {"request": REQUEST, "fields": [1]}, "input 'fields' must be an object"),
    ("http_set_url", {"request": REQUEST, "url": None}, "input 'url' must be a string"),
    ("http_set_bearer_auth", {"request": REQUEST}, "input 'token' is not connected"),
    ("http_get_header", {"request": {**REQUEST, "body_type": "Xml"}, "header": "a"}, "'body_type' must be one of"),
    ("http_get_url", {"request": {**REQUEST, "body_type": "String", "body": 1}}, "a String body must be a string"),
    ("http_get_headers", {"request": {**REQUEST, "headers": {"a": None}}}, "request 'headers' must be"),
    ("http_get_method", {"request": {"url": "https://a.example"}}, "request 'method' must be one of"),
    ("http_set_accept", {"request": None}, "input 'request' must be an object"),
    ("http_set_content_type", {"request": REQUEST, "content_type": False}, "input 'content_type' must be a string"),
    ("http_set_struct_body", {"request": [REQUEST], "body": {}}, "input 'request' must be an object"),
    ("http_response_get_header", {"response": RESPONSE, "header": 1}, "input 'header' must be a string"),
    ("http_response_get_status", {"response": {"status_code": "200", "headers": {}}}, "integer 'status_code'"),
    ("http_response_get_headers", {"response": {"status_code": 200, "headers": None}}, "response 'headers' must be"),
    ("http_response_is_success", {"response": {"status_code": 200, "headers": {}, "body": "x"}}, "'body' must be"),
])
def test_bad_pure_inputs_fail_naming_the_pin(node, inputs, message):
    """Malformed requests, responses and inputs fail the node with a message naming the pin."""
    b = BoardBuilder()
    start = b.add("events_simple")
    target = b.add(node, **inputs)
    ret = b.add("events_generic_return_result")
    b.chain(start, ret)
    output = next(p["name"] for p in b.nodes[target]["pins"].values() if p["pin_type"] == "Output")
    b.connect(target, output, ret, "response")
    result = b.run(start)
    assert result.reason == "node_error" and message in result.error["message"], result.error


@pytest.mark.parametrize("node", ["http_fetch", "streaming_http_fetch"])
@pytest.mark.parametrize("request_value,message", [
    ({"url": "not a url", "method": "GET"}, "invalid URL"),
    ({"url": "http://[::1", "method": "GET"}, "invalid URL"),
    ({"url": "http://127.0.0.1:9/", "method": "GET", "body_type": "Bytes", "body": "x"}, "Bytes body"),
])
def test_fetch_nodes_reject_bad_requests(node, request_value, message):
    """Invalid URLs and malformed bodies fail both fetch nodes before any connection."""
    b = BoardBuilder()
    start = b.add("events_simple")
    fetch = b.add(node, request=request_value)
    b.chain(start, fetch)
    result = b.run(start, egress=LOCAL)
    assert result.reason == "node_error" and message in result.error["message"], result.error


def test_response_to_json_rejects_non_json_body():
    """A body that is not JSON fails To Struct (http_response_to_json) with a clear message."""
    result = _read_body("http_response_to_json", "struct", {**RESPONSE, "status_code": 200})
    assert result.reason == "node_error" and "not JSON" in result.error["message"]


def test_redirect_to_malformed_url_fails_cleanly(echo):
    """A redirect whose Location is not a URL fails the fetch with a node error, not a crash."""
    b, start = send_board([], echo + "/bad-redirect")
    result = b.run(start, egress=LOCAL)
    assert result.reason == "node_error" and "Invalid URL in location header" in result.error["message"], result.error
