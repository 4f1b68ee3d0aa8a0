"""HTTP nodes against a real local server, and the egress policy."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from boardrun.engine import EgressPolicy
from boardrun.engine.http_egress import address_blocked
from engine_testkit import BoardBuilder

LOCAL = EgressPolicy(allow_private=True, timeout_seconds=5.0)


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output quiet
        pass

    def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("X-Echo-Host", self.headers.get("Host", ""))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/json":
            self._reply(200, b'{"hello": "world"}')
        elif self.path == "/missing":
            self._reply(404, b'{"error": "nope"}')
        elif self.path == "/big":
            self._reply(200, b"x" * 100_000, "text/plain")
        elif self.path == "/slow":
            time.sleep(3)
            self._reply(200, b"{}")
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/json")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._reply(200, b"not json", "text/plain")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        self._reply(201, json.dumps({"got": json.loads(body), "type": self.headers.get("Content-Type")}).encode())


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def fetch_board(url: str, method: str = "GET", body=None) -> tuple[BoardBuilder, str]:
    """events_simple -> http_fetch -> (success: to json -> return struct) / (error: return response)."""
    b = BoardBuilder()
    start = b.add("events_simple")
    make = b.add("http_make_request", url=url, method=method)
    fetch = b.add("http_fetch")
    to_json = b.add("http_response_to_json")
    ok_ret = b.add("events_generic_return_result")
    err_ret = b.add("events_generic_return_result")
    if body is None:
        b.connect(make, "request", fetch, "request")
        b.chain(start, fetch)
    else:
        setter = b.add("struct_set", field="body", value=body)
        b.connect(make, "request", setter, "struct_in")
        b.connect(setter, "struct_out", fetch, "request")
        b.chain(start, setter, fetch)
    b.connect(fetch, "exec_success", to_json, "exec_in")
    b.connect(fetch, "response", to_json, "response")
    b.connect(to_json, "exec_out", ok_ret, "exec_in")
    b.connect(to_json, "struct", ok_ret, "response")
    b.connect(fetch, "exec_error", err_ret, "exec_in")
    b.connect(fetch, "response", err_ret, "response")
    return b, start


def test_fetch_json_success(server):
    """A 2xx JSON response fires exec_success and http_response_to_json parses it."""
    b, start = fetch_board(server + "/json")
    result = b.run(start, egress=LOCAL)
    assert (result.status, result.result) == ("completed", {"hello": "world"})


def test_fetch_non_2xx_fires_error(server):
    """A 404 leaves exec_error active; the response has status, lower-case headers and byte body."""
    b, start = fetch_board(server + "/missing")
    result = b.run(start, egress=LOCAL)
    assert result.status == "completed"
    response = result.result
    assert response["status_code"] == 404
    assert response["headers"]["content-type"] == "application/json"
    assert bytes(response["body"]) == b'{"error": "nope"}'


def test_post_sends_json_body(server):
    """A non-null body is sent as JSON with a JSON content type."""
    b, start = fetch_board(server + "/echo", method="POST", body={"a": [1, 2]})
    result = b.run(start, egress=LOCAL)
    assert result.result == {"got": {"a": [1, 2]}, "type": "application/json"}


def test_redirect_is_followed_and_host_header_kept(server):
    """Redirects are followed (re-checked per hop) and the Host header names the original host."""
    b, start = fetch_board(server + "/redirect")
    result = b.run(start, egress=LOCAL)
    assert result.result == {"hello": "world"}


def test_response_to_json_rejects_non_json(server):
    """A body that is not JSON fails http_response_to_json."""
    b, start = fetch_board(server + "/text")
    result = b.run(start, egress=LOCAL)
    assert (result.reason, result.error["node_name"]) == ("node_error", "http_response_to_json")


def test_response_size_cap(server):
    """A body over max_response_bytes fails the fetch node."""
    b, start = fetch_board(server + "/big")
    result = b.run(start, egress=EgressPolicy(allow_private=True, max_response_bytes=10_000))
    assert result.error["node_name"] == "http_fetch" and "exceeds the limit" in result.error["message"]
    assert b.run(start, egress=EgressPolicy(allow_private=True, max_response_bytes=200_000)).reason == "node_error"


def test_read_timeout(server):
    """A server slower than the timeout fails the fetch node well before it answers."""
    b, start = fetch_board(server + "/slow")
    began = time.monotonic()
    result = b.run(start, egress=EgressPolicy(allow_private=True, timeout_seconds=0.5))
    assert result.error["node_name"] == "http_fetch" and "Timeout" in result.error["message"]
    assert time.monotonic() - began < 2.5


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/x", "http://10.1.2.3/x", "http://169.254.169.254/latest/meta-data",
                                 "http://localhost/x", "http://[::1]/x", "http://0.0.0.0/x"])
def test_private_destinations_refused_by_default(url):
    """Loopback, private, link-local (metadata), localhost, IPv6 loopback and unspecified are refused."""
    b, start = fetch_board(url)
    result = b.run(start)
    assert result.error["node_name"] == "http_fetch"
    assert "egress refused" in result.error["message"]


def test_local_server_refused_without_allow_private(server):
    """The same local server that works with allow_private is refused by the default policy."""
    b, start = fetch_board(server + "/json")
    assert "egress refused" in b.run(start).error["message"]


def test_allowed_hosts_restricts_destinations(server):
    """With allowed_hosts set, other hosts are refused even when private addresses are allowed."""
    b, start = fetch_board(server + "/json")
    policy = EgressPolicy(allow_private=True, allowed_hosts=frozenset({"api.example.com"}))
    assert "not in the allowed hosts" in b.run(start, egress=policy).error["message"]
    policy = EgressPolicy(allow_private=True, allowed_hosts=frozenset({"127.0.0.1"}))
    assert b.run(start, egress=policy).result == {"hello": "world"}


def test_resolved_address_is_checked(monkeypatch):
    """A public-looking host name that resolves to a private address is refused (DNS check, not name check)."""
    import socket

    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("10.0.0.5", 80))])
    b, start = fetch_board("http://innocent.example.com/x")
    assert "resolves to non-public address 10.0.0.5" in b.run(start).error["message"]


@pytest.mark.parametrize("address,blocked", [("8.8.8.8", False), ("2606:4700::1111", False), ("127.0.0.1", True),
                                             ("::ffff:10.0.0.1", True), ("224.0.0.1", True), ("100.64.0.1", True),
                                             ("fe80::1", True), ("192.168.1.1", True)])
def test_address_classification(address, blocked):
    """Only public unicast addresses pass the check."""
    assert address_blocked(address) is blocked


@pytest.mark.parametrize("request_value,message", [({"url": "x"}, "method"), ("nope", "must be an object"),
                                                   ({"url": "ftp://a/b", "method": "GET"}, "only absolute http"),
                                                   ({"url": "http://a", "method": "GET", "headers": {"a": 1}}, "headers")])
def test_fetch_rejects_bad_requests(request_value, message):
    """Malformed request objects fail http_fetch before any network access."""
    b = BoardBuilder()
    start = b.add("events_simple")
    fetch = b.add("http_fetch", request=request_value)
    b.chain(start, fetch)
    result = b.run(start)
    assert result.reason == "node_error" and message in result.error["message"]


def test_make_request_unknown_method_falls_back_to_get():
    """http_make_request turns an unknown method into GET."""
    from engine_testkit import run_pure

    result = run_pure("http_make_request", "request", url="https://example.com", method="BREW")
    assert result.result == {"url": "https://example.com", "method": "GET", "headers": None, "body": None}


def test_policy_from_settings():
    """EgressPolicy.from_settings takes the three ENGINE_HTTP_* variables; unset, it is the default policy
    (so README's defaults and the engine's agree), and a typo in the boolean is refused, not read as false."""
    from boardrun.config import ConfigError, load_settings

    policy = EgressPolicy.from_settings(load_settings({"ENGINE_HTTP_ALLOW_PRIVATE": "true", "ENGINE_HTTP_TIMEOUT_SECONDS": "3",
                                                       "ENGINE_HTTP_MAX_RESPONSE_BYTES": "1234"}).engine)
    assert (policy.allow_private, policy.timeout_seconds, policy.max_response_bytes) == (True, 3.0, 1234)
    assert EgressPolicy.from_settings(load_settings({}).engine) == EgressPolicy()
    with pytest.raises(ConfigError, match="ENGINE_HTTP_ALLOW_PRIVATE must be true or false"):
        load_settings({"ENGINE_HTTP_ALLOW_PRIVATE": "ture"})


class _Recorder(BaseHTTPRequestHandler):
    """Answers every request with the headers it received (as JSON); /same redirects within this origin."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/same":
            self.send_response(302)
            self.send_header("Location", "/echo")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps({k.lower(): v for k, v in self.headers.items()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _redirector(target: str):
    class Redirect(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(307)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Redirect


def _serve(handler):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


CREDENTIALS = {"Authorization": "Bearer secret-token", "Cookie": "session=abc",
               "Proxy-Authorization": "Basic cHJveHk=", "X-Trace": "kept"}


def test_cross_origin_redirect_drops_credentials():
    """A redirect to another origin (another port here) reaches it without Authorization, Cookie or
    Proxy-Authorization; other board-set headers still arrive."""
    from boardrun.engine.http_egress import send

    recorder = _serve(_Recorder)
    redirector = _serve(_redirector(f"http://127.0.0.1:{recorder.server_address[1]}/echo"))
    try:
        reply = send(LOCAL, "GET", f"http://127.0.0.1:{redirector.server_address[1]}/go", CREDENTIALS, None)
    finally:
        for httpd in (recorder, redirector):
            httpd.shutdown()
            httpd.server_close()
    received = json.loads(reply.body)
    assert not {"authorization", "cookie", "proxy-authorization"} & received.keys()
    assert received["x-trace"] == "kept"


def test_same_origin_redirect_keeps_credentials():
    """A redirect within the same origin keeps the credentials (only a change of origin drops them)."""
    from boardrun.engine.http_egress import send

    recorder = _serve(_Recorder)
    try:
        reply = send(LOCAL, "GET", f"http://127.0.0.1:{recorder.server_address[1]}/same", CREDENTIALS, None)
    finally:
        recorder.shutdown()
        recorder.server_close()
    received = json.loads(reply.body)
    assert (received["authorization"], received["cookie"]) == ("Bearer secret-token", "session=abc")


def test_send_is_bounded_by_time_left(server):
    """A caller's remaining run time shortens the timeout below the policy's."""
    from boardrun.engine.errors import NodeError
    from boardrun.engine.http_egress import send

    began = time.monotonic()
    with pytest.raises(NodeError, match="Timeout"):
        send(EgressPolicy(allow_private=True, timeout_seconds=30), "GET", server + "/slow", {}, None, time_left=0.3)
    assert time.monotonic() - began < 2.5
