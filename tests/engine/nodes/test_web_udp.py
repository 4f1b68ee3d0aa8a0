"""UDP nodes against a real UDP socket on 127.0.0.1."""

from __future__ import annotations

import socket

import pytest

from boardrun.engine import EgressPolicy
from engine_testkit import BoardBuilder

LOCAL = EgressPolicy(allow_private=True)


@pytest.fixture
def receiver():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield sock
    sock.close()


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def board(bind_port: int, target_port: object, payload: object = "ping", host: str = "127.0.0.1", close: bool = True):
    """udp_bind -> udp_send_to -> [udp_close] -> return bytes_sent and the session's local address."""
    b = BoardBuilder()
    start = b.add("events_simple")
    bind = b.add("udp_bind", config={"host": "127.0.0.1", "port": bind_port})
    send = b.add("udp_send_to", target_host=host, target_port=target_port, payload=payload)
    ret = b.add("events_generic_return_result")
    b.connect(start, "exec_out", bind, "exec_in")
    b.connect(bind, "session", send, "session")
    b.connect(bind, "exec_out", send, "exec_in")
    last = send
    if close:
        closer = b.add("udp_close")
        b.connect(bind, "session", closer, "session")
        b.connect(send, "exec_out", closer, "exec_in")
        last = closer
    b.connect(last, "exec_out", ret, "exec_in")
    b.connect(send, "bytes_sent", ret, "response")
    return b, start


def test_send_to_delivers_one_datagram_from_the_bound_port(receiver):
    """The datagram arrives from the bound local port, and Bytes Sent counts its UTF-8 bytes."""
    port = free_udp_port()
    b, start = board(port, receiver.getsockname()[1], payload="grüße")
    result = b.run(start, egress=LOCAL)
    assert (result.status, result.result) == ("completed", len("grüße".encode()))
    data, sender = receiver.recvfrom(65536)
    assert (data, sender[1]) == ("grüße".encode(), port)


def test_socket_is_closed_when_a_run_fails_after_binding():
    """A run that fails after udp_bind (no udp_close reached) still releases the port."""
    port = free_udp_port()
    b, start = board(port, 0)  # target port 0 is invalid: udp_send_to fails, udp_close never runs
    result = b.run(start, egress=LOCAL)
    assert (result.reason, result.error["node_name"]) == ("node_error", "udp_send_to")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as again:
        again.bind(("127.0.0.1", port))  # would raise EADDRINUSE if the run had leaked the socket


def test_bind_failure_takes_the_error_branch_or_fails():
    """Binding a port in use runs Error when wired and fails the node otherwise."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        b = BoardBuilder()
        start = b.add("events_simple")
        bind = b.add("udp_bind", config={"host": "127.0.0.1", "port": port})
        b.connect(start, "exec_out", bind, "exec_in")
        result = b.run(start)
        assert result.reason == "node_error" and "bind" in result.error["message"]
        ret = b.add("events_generic_return_result", response="error")
        b.connect(bind, "exec_error", ret, "exec_in")
        assert b.run(start).result == "error"


@pytest.mark.parametrize("host", ["127.0.0.1", "10.1.2.3", "169.254.169.254", "localhost"])
def test_private_targets_are_refused_by_default(host):
    """Datagrams to loopback, private or metadata addresses are refused by the default policy."""
    b, start = board(0, 9, host=host)
    result = b.run(start)
    assert result.error["node_name"] == "udp_send_to" and "egress refused" in result.error["message"]


@pytest.mark.parametrize("target_port, payload, message", [
    ("9", "x", "must be a 64-bit integer"),
    (70000, "x", "1 to 65535"),
    (9, "x" * 70000, "does not fit"),
    (9, 5, "must be a string"),
])
def test_bad_send_inputs_fail_clearly(target_port, payload, message):
    """Wrong port types or ranges, oversized and non-text payloads fail the send node."""
    b, start = board(0, target_port, payload=payload)
    result = b.run(start, egress=LOCAL)
    assert result.error["node_name"] == "udp_send_to" and message in result.error["message"]


def test_closing_twice_only_warns():
    """Closing a socket that is already closed is not an error (as in Flow-Like)."""
    b = BoardBuilder()
    start = b.add("events_simple")
    bind = b.add("udp_bind", config={"host": "127.0.0.1", "port": 0})
    first, second = b.add("udp_close"), b.add("udp_close")
    for closer in (first, second):
        b.connect(bind, "session", closer, "session")
    b.chain(start, bind, first, second)
    events = []
    result = b.run(start, on_event=events.append)
    assert result.status == "completed"
    assert any(e.kind == "log" and "was not open" in (e.message or "") for e in events)


def test_receive_delivers_and_stops_on_close():
    """A datagram sent to the bound socket reaches the function, whose UDP Close ends the receive."""
    port = free_udp_port()
    b = BoardBuilder()
    start = b.add("events_simple")
    bind = b.add("udp_bind", config={"host": "127.0.0.1", "port": port})
    receive = b.add("udp_receive", timeout_seconds=10)
    b.connect(start, "exec_out", bind, "exec_in")
    b.connect(bind, "exec_out", receive, "exec_in")
    b.connect(bind, "session", receive, "session")
    send = b.add("udp_send_to", target_host="127.0.0.1", target_port=port, payload="hello")
    b.connect(receive, "on_listening", send, "exec_in")
    b.connect(bind, "session", send, "session")
    handler = b.add("events_generic")
    b.add_pin(handler, "sender_addr", "Output", "String")
    b.reference_function(receive, handler)
    closer = b.add("udp_close")
    b.connect(handler, "exec_out", closer, "exec_in")
    b.connect(bind, "session", closer, "session")
    with_payload = b.add("struct_set", struct_in={}, field="payload")
    with_sender = b.add("struct_set", field="sender")
    b.chain(closer, with_payload, with_sender)
    b.connect(handler, "payload", with_payload, "value")
    b.connect(with_payload, "struct_out", with_sender, "struct_in")
    b.connect(handler, "sender_addr", with_sender, "value")
    ret = b.add("events_generic_return_result")
    b.connect(with_sender, "exec_out", ret, "exec_in")
    b.connect(with_sender, "struct_out", ret, "response")
    result = b.run(start, egress=LOCAL)
    assert result.status == "completed", result.error
    assert result.result == {"payload": "hello", "sender": f"127.0.0.1:{port}"}
