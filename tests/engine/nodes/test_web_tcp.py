"""TCP nodes against a real TCP server on 127.0.0.1, plus the per-run resource registry."""

from __future__ import annotations

import socket
import threading

import pytest

from boardrun.engine import CancelToken, EgressPolicy, RunLimits
from engine_testkit import BoardBuilder

LOCAL = EgressPolicy(allow_private=True)


class Server:
    """Accepts one connection, records what arrives until EOF; optionally hangs up after a marker."""

    def __init__(self, hang_up_after: bytes | None = None, on_data=None) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.received = b""
        self.eof = threading.Event()
        self.hang_up_after = hang_up_after
        self.on_data = on_data
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.listener.settimeout(10)
        conn, _ = self.listener.accept()
        conn.settimeout(10)
        with conn:
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    self.eof.set()
                    return
                self.received += chunk
                if self.on_data:
                    self.on_data(self.received)
                if self.hang_up_after and self.hang_up_after in self.received:
                    return

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def server():
    servers = []

    def make(**kwargs):
        servers.append(Server(**kwargs))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


def board(port: int, sends: list[tuple[str, object]], close: bool = True, timeout: int = 0, host: str = "127.0.0.1",
          error_branch: bool = False):
    """tcp_connect -> on_connect: tcp_send* -> [tcp_close]; on_close -> return 'closed' (error -> 'error')."""
    b = BoardBuilder()
    start = b.add("events_simple")
    connect = b.add("tcp_connect", config={"host": host, "port": port, "timeout_seconds": timeout})
    b.connect(start, "exec_out", connect, "exec_in")
    previous, pin = connect, "on_connect"
    for kind, payload in sends:
        send = b.add("tcp_send", message_type=kind, payload=payload)
        b.connect(connect, "session", send, "session")
        b.connect(previous, pin, send, "exec_in")
        previous, pin = send, "exec_out"
    if close:
        closer = b.add("tcp_close")
        b.connect(connect, "session", closer, "session")
        b.connect(previous, pin, closer, "exec_in")
    done = b.add("events_generic_return_result", response="closed")
    b.connect(connect, "on_close", done, "exec_in")
    if error_branch:
        failed = b.add("events_generic_return_result", response="error")
        b.connect(connect, "exec_error", failed, "exec_in")
    return b, start


def test_connect_send_close_delivers_bytes_and_fires_on_close(server):
    """Text and binary payloads arrive in order, TCP Close ends the connection and On Close runs."""
    srv = server()
    b, start = board(srv.port, [("Text", "héllo "), ("Binary", [0, 255, 10])])
    result = b.run(start, egress=LOCAL)
    assert (result.status, result.result) == ("completed", "closed")
    assert srv.eof.wait(5)
    assert srv.received == "héllo ".encode() + bytes([0, 255, 10])


def test_peer_hanging_up_ends_the_wait(server):
    """Without a Close node, the node waits until the server closes, then continues on On Close."""
    srv = server(hang_up_after=b"bye")
    b, start = board(srv.port, [("Text", "bye")], close=False)
    result = b.run(start, egress=LOCAL, limits=RunLimits(deadline_seconds=30))
    assert (result.status, result.result) == ("completed", "closed")


def test_config_timeout_ends_the_wait(server):
    """timeout_seconds bounds the wait when nobody closes the connection."""
    srv = server()
    b, start = board(srv.port, [("Text", "x")], close=False, timeout=1)
    assert b.run(start, egress=LOCAL).result == "closed"
    assert srv.eof.wait(5)


def test_deadline_during_the_wait_fails_the_run_and_closes_the_socket(server):
    """A run that hits its deadline while holding a connection fails, and the registry closes the socket."""
    srv = server()
    b, start = board(srv.port, [("Text", "x")], close=False)
    result = b.run(start, egress=LOCAL, limits=RunLimits(deadline_seconds=1))
    assert (result.status, result.reason) == ("failed", "deadline")
    assert srv.eof.wait(5)


def test_cancel_during_the_wait_closes_the_socket(server):
    """Cancelling the run while the node holds the connection ends it promptly and closes the socket."""
    cancel = CancelToken()
    srv = server(on_data=lambda data: cancel.cancel())
    b, start = board(srv.port, [("Text", "x")], close=False)
    result = b.run(start, egress=LOCAL, cancel=cancel, limits=RunLimits(deadline_seconds=60))
    assert result.status == "cancelled"
    assert srv.eof.wait(5)


def test_refused_connection_takes_the_error_branch_or_fails():
    """A refused connection runs the Error branch when wired; unwired, the node fails (Flow-Like hides it)."""
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    b, start = board(port, [], error_branch=True)
    assert b.run(start, egress=LOCAL).result == "error"
    b, start = board(port, [])
    result = b.run(start, egress=LOCAL)
    assert (result.reason, result.error["node_name"]) == ("node_error", "tcp_connect")
    assert "could not connect" in result.error["message"]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "10.0.0.1", "169.254.169.254"])
def test_private_destinations_are_refused_by_default(host):
    """The default egress policy refuses loopback, private and metadata addresses."""
    b, start = board(9, [], host=host)
    result = b.run(start)
    assert result.reason == "node_error" and "egress refused" in result.error["message"]


@pytest.mark.parametrize("config, message", [
    ({"port": 80}, "needs a 'host'"),
    ({"host": "127.0.0.1", "port": "80"}, "wrong type"),
    ({"host": "127.0.0.1", "port": 70000}, "1 to 65535"),
    ({"host": "127.0.0.1", "port": 80, "timeout_seconds": -1}, "must not be negative"),
])
def test_bad_config_fails_clearly(config, message):
    """Malformed TCP configs fail the node with a message naming the field."""
    b = BoardBuilder()
    start = b.add("events_simple")
    connect = b.add("tcp_connect", config=config)
    b.connect(start, "exec_out", connect, "exec_in")
    result = b.run(start, egress=LOCAL)
    assert result.reason == "node_error" and message in result.error["message"]


def test_binary_payload_must_be_bytes_and_session_must_be_open(server):
    """Binary mode refuses text; a send on a session that is not open fails naming it."""
    srv = server()
    b, start = board(srv.port, [("Binary", "text")], timeout=1)
    result = b.run(start, egress=LOCAL)
    assert result.error["node_name"] == "tcp_send" and "byte values" in result.error["message"]
    b = BoardBuilder()
    start = b.add("events_simple")
    send = b.add("tcp_send", session={"ref_id": "tcp_nope", "remote_addr": "x"}, payload="x")
    b.connect(start, "exec_out", send, "exec_in")
    result = b.run(start)
    assert "no open tcp connection" in result.error["message"]


def test_incoming_data_goes_to_the_referenced_function(server):
    """Data the server sends reaches the referenced function's payload; closing there ends the hold."""
    greeting = threading.Event()

    class Greeter(Server):
        def _serve(self) -> None:
            self.listener.settimeout(10)
            conn, _ = self.listener.accept()
            with conn:
                conn.sendall(b"welcome")
                conn.settimeout(10)
                while conn.recv(65536):
                    pass
                greeting.set()

    srv = Greeter()
    b = BoardBuilder()
    start = b.add("events_simple")
    connect = b.add("tcp_connect", config={"host": "127.0.0.1", "port": srv.port})
    b.connect(start, "exec_out", connect, "exec_in")
    handler = b.add("events_generic")
    b.reference_function(connect, handler)
    ret = b.add("events_generic_return_result")
    closer = b.add("tcp_close")
    b.connect(handler, "exec_out", closer, "exec_in")
    b.connect(connect, "session", closer, "session")
    b.connect(closer, "exec_out", ret, "exec_in")
    b.connect(handler, "payload", ret, "response")
    result = b.run(start, egress=LOCAL, limits=RunLimits(deadline_seconds=30))
    assert (result.status, result.result) == ("completed", "welcome"), result.error
    assert greeting.wait(5)  # the connection was closed by TCP Close
    srv.close()


def test_listen_hands_each_connection_to_the_function():
    """TCP Listen passes an accepted connection as a Session; the function answers on it and closes it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    replies = []

    def client() -> None:
        for _ in range(200):  # the listener opens once the run reaches TCP Listen
            try:
                conn = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                threading.Event().wait(0.05)
        else:
            return
        with conn:
            replies.append(conn.recv(100))

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    b = BoardBuilder()
    start = b.add("events_simple")
    listen = b.add("tcp_listen", config={"host": "127.0.0.1", "port": port, "timeout_seconds": 2})
    b.connect(start, "exec_out", listen, "exec_in")
    handler = b.add("events_generic")
    b.reference_function(listen, handler)
    send = b.add("tcp_send", payload="pong")
    closer = b.add("tcp_close")
    b.connect(handler, "exec_out", send, "exec_in")
    b.connect(handler, "payload", send, "session")
    b.connect(send, "exec_out", closer, "exec_in")
    b.connect(handler, "payload", closer, "session")
    done = b.add("events_generic_return_result", response="closed")
    b.connect(listen, "on_close", done, "exec_in")
    result = b.run(start, egress=LOCAL, limits=RunLimits(deadline_seconds=30))
    thread.join(10)
    assert (result.status, result.result) == ("completed", "closed")
    assert replies == [b"pong"]


def test_listen_refuses_a_port_in_use():
    """A port already bound runs Error when wired, otherwise fails TCP Listen."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        b = BoardBuilder()
        start = b.add("events_simple")
        listen = b.add("tcp_listen", config={"host": "127.0.0.1", "port": taken.getsockname()[1]})
        b.connect(start, "exec_out", listen, "exec_in")
        assert "TCP listen on" in b.run(start).error["message"]
        ret = b.add("events_generic_return_result", response="error")
        b.connect(listen, "exec_error", ret, "exec_in")
        assert b.run(start).result == "error"


def test_a_reference_to_a_missing_function_fails(server):
    """A node whose fn_refs names no node of the board fails once connected, and the socket is closed."""
    srv = server()
    b, start = board(srv.port, [("Text", "x")], close=False)
    connect = next(n for n, node in b.nodes.items() if node["name"] == "tcp_connect")
    b.reference_function(connect, "no-such-node")
    result = b.run(start, egress=LOCAL)
    assert result.error["node_name"] == "tcp_connect" and "'no-such-node' is not on this board" in result.error["message"]
    assert srv.eof.wait(5)


def test_listen_limits_open_connections():
    """With max_connections 1 and the first connection left open, a second one is closed at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    outcomes = []

    def client() -> None:
        conns = []
        for _ in range(200):  # the listener opens once the run reaches TCP Listen
            try:
                conns.append(socket.create_connection(("127.0.0.1", port), timeout=5))
                break
            except OSError:
                threading.Event().wait(0.05)
        conns.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        outcomes.append(conns[1].recv(10))  # b"": closed by the listener
        for conn in conns:
            conn.close()

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    b = BoardBuilder()
    start = b.add("events_simple")
    listen = b.add("tcp_listen", config={"host": "127.0.0.1", "port": port, "timeout_seconds": 2,
                                         "max_connections": 1})
    b.connect(start, "exec_out", listen, "exec_in")
    events = []
    result = b.run(start, egress=LOCAL, on_event=events.append, limits=RunLimits(deadline_seconds=30))
    thread.join(10)
    assert result.status == "completed"
    assert outcomes == [b""]
    assert any("1 connections are open" in (e.message or "") for e in events)
