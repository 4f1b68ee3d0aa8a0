"""TCP client connections (connect, send, close), through the egress policy.

The socket lives in the run's resource registry; the Session struct on the pins only names it.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any, Iterator

from ... import http_egress, netio
from ...coerce import as_str
from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext

_SESSION = inp("session", "Session", "Struct", options=netio.ENFORCE_SCHEMA,
               description="A session from 'TCP Connect'.")


def _config(ctx: NodeContext) -> tuple[str, int, int]:
    config = netio.struct_input(ctx, "config", "a TCP config")
    host = netio.field(config, "host", str, "TCP config")
    port = netio.field(config, "port", int, "TCP config")
    timeout = netio.field(config, "timeout_seconds", int, "TCP config", 0)
    if timeout < 0:
        raise NodeError("TCP config field 'timeout_seconds' must not be negative")
    return host, port, timeout


def _peer(sock: socket.socket, fallback: str) -> str:
    try:
        address, port = sock.getpeername()[:2]
    except OSError:
        return fallback
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already reset by the peer
    sock.close()


def payload_bytes(ctx: NodeContext) -> bytes:
    """The 'payload' input as bytes: UTF-8 text for 'Text', a byte array for 'Binary'."""
    kind = as_str(ctx.get("message_type"), "message_type")
    payload = ctx.get("payload")
    if kind == "Binary":
        return netio.byte_values(payload, "input 'payload' (message type Binary)")
    return as_str(payload, "payload").encode("utf-8")


@register("tcp_connect", "TCP Connect", "Web/TCP",
          "Opens a TCP connection, runs 'On Connect' with the session, then keeps the connection until "
          "it is closed, the peer hangs up or the config's timeout passes, and continues on 'On Close'.",
          [inp("exec_in", "Execute", "Execution"),
           inp("config", "Config", "Struct", options=netio.ENFORCE_SCHEMA,
               description="{host, port, timeout_seconds}; timeout 0 waits until the run's deadline."),
           out("on_connect", "On Connect", "Execution", description="Runs once connected."),
           out("session", "Session", "Struct", options=netio.ENFORCE_SCHEMA,
               description="{ref_id, remote_addr} naming the open connection."),
           out("on_close", "On Close", "Execution", description="Runs after the connection ended."),
           out("exec_error", "Error", "Execution", description="Runs when the connection could not be made.")],
          long_running=True)
def tcp_connect(ctx: NodeContext) -> Iterator[list[Any]]:
    for pin in ("on_connect", "on_close", "exec_error"):
        ctx.deactivate(pin)
    host, port, timeout = _config(ctx)
    try:
        sock = http_egress.connect_checked(ctx.egress, host, port, netio.io_timeout(ctx))
    except NodeError as exc:
        netio.fail_or_branch(ctx, "exec_error", str(exc))
        return
    ref_id = ctx.resources.add("tcp", sock, _close)
    ctx.set("session", {"ref_id": ref_id, "remote_addr": _peer(sock, f"{host}:{port}")})
    ctx.activate("on_connect")
    for target in ctx.targets("on_connect"):
        yield [target]
    ctx.deactivate("on_connect")

    def receive(seconds: float) -> bool:
        # Incoming data has no handler to go to (see docs/engine.md); it is read and dropped so
        # that the peer's close is noticed.
        sock.settimeout(seconds)
        try:
            return sock.recv(65536) != b""
        except TimeoutError:
            return True
        except OSError:
            return False

    why = netio.hold_until_closed(ctx, ref_id, timeout, receive)
    ctx.log("Debug", f"TCP connection to {host}:{port} ended ({why})")
    ctx.resources.release(ref_id)
    ctx.activate("on_close")


@register("tcp_send", "TCP Send", "Web/TCP", "Writes the payload to an open TCP connection.",
          [inp("exec_in", "Execute", "Execution"),
           _SESSION,
           inp("message_type", "Message Type", "String", default="Text", options={"valid_values": ["Text", "Binary"]},
               description="Text sends the payload as UTF-8; Binary expects an array of byte values."),
           inp("payload", "Payload", "String", description="What to send."),
           out("exec_out", "Done", "Execution")])
def tcp_send(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    sock: socket.socket = ctx.resources.get("tcp", ctx.get("session"))
    data = payload_bytes(ctx)
    sock.settimeout(netio.io_timeout(ctx))
    netio.guarded("TCP send", lambda: sock.sendall(data))
    ctx.activate("exec_out")


@register("tcp_close", "TCP Close", "Web/TCP",
          "Closes a TCP connection; a connection that is already closed is left alone.",
          [inp("exec_in", "Execute", "Execution"), _SESSION, out("exec_out", "Done", "Execution")])
def tcp_close(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    netio.close_session(ctx, "tcp", "TCP")
    ctx.activate("exec_out")
