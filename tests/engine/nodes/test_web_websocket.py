"""WebSocket nodes against a real ``websockets`` server on 127.0.0.1."""

from __future__ import annotations

import threading

import pytest
from websockets.sync.server import serve

from boardrun.engine import EgressPolicy, RunLimits
from engine_testkit import BoardBuilder

LOCAL = EgressPolicy(allow_private=True)


class Server:
    def __init__(self, close_after: int | None = None) -> None:
        self.messages: list[object] = []
        self.headers: dict[str, str] | None = None
        self.closed = threading.Event()
        self.close_after = close_after
        self.server = serve(self._handle, "127.0.0.1", 0)
        self.port = self.server.socket.getsockname()[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handle(self, ws) -> None:
        self.headers = ws.request.headers  # case-insensitive
        try:
            for message in ws:
                self.messages.append(message)
                if self.close_after and len(self.messages) >= self.close_after:
                    ws.close()
        finally:
            self.closed.set()


@pytest.fixture
def server():
    made = []

    def make(**kwargs):
        made.append(Server(**kwargs))
        return made[-1]

    yield make
    for s in made:
        s.server.shutdown()


def board(url: str, sends: list[tuple[str, object]], close: bool = True, headers=None, timeout: int = 0):
    b = BoardBuilder()
    start = b.add("events_simple")
    connect = b.add("websocket_connect", config={"url": url, "headers": headers, "timeout_seconds": timeout})
    b.connect(start, "exec_out", connect, "exec_in")
    previous, pin = connect, "on_connect"
    for kind, payload in sends:
        send = b.add("websocket_send", message_type=kind, payload=payload)
        b.connect(connect, "session", send, "session")
        b.connect(previous, pin, send, "exec_in")
        previous, pin = send, "exec_out"
    if close:
        closer = b.add("websocket_close")
        b.connect(connect, "session", closer, "session")
        b.connect(previous, pin, closer, "exec_in")
    done = b.add("events_generic_return_result")
    b.connect(connect, "on_close", done, "exec_in")
    b.connect(connect, "session", done, "response")
    return b, start


def test_text_and_binary_messages_arrive_and_close_is_clean(server):
    """Text and binary frames arrive in order with the configured headers; the session hides the query."""
    srv = server()
    url = f"ws://127.0.0.1:{srv.port}/feed?token=secret"
    b, start = board(url, [("Text", "hi"), ("Binary", [1, 2, 3])], headers={"X-Test": "yes"})
    result = b.run(start, egress=LOCAL)
    assert result.status == "completed", result.error
    assert result.result["url"] == f"ws://127.0.0.1:{srv.port}/feed"
    assert srv.closed.wait(5)
    assert srv.messages == ["hi", b"\x01\x02\x03"]
    assert srv.headers.get("X-Test") == "yes"


def test_server_closing_ends_the_wait(server):
    """Without a Close node, the connection is held until the server closes it."""
    srv = server(close_after=1)
    b, start = board(f"ws://127.0.0.1:{srv.port}/", [("Text", "one")], close=False)
    result = b.run(start, egress=LOCAL, limits=RunLimits(deadline_seconds=30))
    assert result.status == "completed", result.error  # the error says why, if the wait ended otherwise


def test_deadline_while_held_closes_the_connection(server):
    """A run that reaches its deadline while the WebSocket is open fails and the registry closes it."""
    srv = server()
    b, start = board(f"ws://127.0.0.1:{srv.port}/", [("Text", "x")], close=False)
    result = b.run(start, egress=LOCAL, limits=RunLimits(deadline_seconds=1))
    assert result.reason == "deadline"
    assert srv.closed.wait(5)


@pytest.mark.parametrize("url, message", [
    ("http://127.0.0.1/", "only absolute ws://"),
    ("ws://127.0.0.1:1/", "could not connect"),
    ("ws://user:pw@127.0.0.1:1/", "could not connect"),
])
def test_bad_urls_fail_without_leaking_credentials(url, message):
    """Bad schemes and refused connections fail the node; user info never shows in the message."""
    b, start = board(url, [])
    result = b.run(start, egress=LOCAL)
    assert result.reason == "node_error" and message in result.error["message"]
    assert "pw" not in result.error["message"]


def test_private_hosts_are_refused_by_default(server):
    """The default egress policy refuses a loopback WebSocket server."""
    srv = server()
    b, start = board(f"ws://127.0.0.1:{srv.port}/", [])
    result = b.run(start)
    assert "egress refused" in result.error["message"]


def test_bad_config_and_payload_fail(server):
    """Header values must be strings and Binary payloads byte arrays."""
    b, start = board("ws://127.0.0.1:1/", [], headers={"X": 1})
    assert "headers" in b.run(start, egress=LOCAL).error["message"]
    srv = server()
    b, start = board(f"ws://127.0.0.1:{srv.port}/", [("Binary", "text")], timeout=1)
    result = b.run(start, egress=LOCAL)
    assert result.error["node_name"] == "websocket_send" and "byte values" in result.error["message"]


def test_server_messages_reach_the_referenced_function():
    """Messages the server sends reach the function's single String output; closing there ends the hold."""
    def greet(ws) -> None:
        ws.send("welcome")
        for _message in ws:
            pass

    server = serve(greet, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        b = BoardBuilder()
        start = b.add("events_simple")
        connect = b.add("websocket_connect", config={"url": f"ws://127.0.0.1:{server.socket.getsockname()[1]}/"})
        b.connect(start, "exec_out", connect, "exec_in")
        handler = b.add("events_generic")  # payload and text both receive the message text
        b.add_pin(handler, "text", "Output", "String")
        b.reference_function(connect, handler)
        closer = b.add("websocket_close")
        b.connect(connect, "session", closer, "session")
        ret = b.add("events_generic_return_result")
        b.connect(handler, "exec_out", closer, "exec_in")
        b.connect(closer, "exec_out", ret, "exec_in")
        b.connect(handler, "text", ret, "response")
        result = b.run(start, egress=LOCAL, limits=RunLimits(deadline_seconds=30))
        assert (result.status, result.result) == ("completed", "welcome"), result.error
    finally:
        server.shutdown()
