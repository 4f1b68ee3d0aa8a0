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
    port = http_egress.check_port(netio.field(config, "port", int, "TCP config"), "TCP config field 'port'")
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


def _receive(sock: socket.socket, seconds: float) -> netio.Message | bool | None:
    """One read of at most 64 KiB: each read is one message for the handler function."""
    sock.settimeout(seconds)
    try:
        data = sock.recv(65536)
    except TimeoutError:
        return None
    except OSError:
        return False
    return (data, {}) if data else False


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

    why = yield from netio.hold(ctx, ref_id, timeout, lambda seconds: _receive(sock, seconds))
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


@register("tcp_listen", "TCP Listen", "Web/TCP",
          "Listens on a local address, runs 'On Listening', then hands every accepted connection (as a "
          "Session) to the referenced function until the config's timeout, and continues on 'On Close'.",
          [inp("exec_in", "Execute", "Execution"),
           inp("config", "Config", "Struct", options=netio.ENFORCE_SCHEMA,
               description="{host, port, timeout_seconds, max_connections}; timeout 0 listens until the run's deadline."),
           out("on_listening", "On Listening", "Execution", description="Runs once the socket listens."),
           out("on_close", "On Close", "Execution", description="Runs after listening stopped."),
           out("exec_error", "Error", "Execution", description="Runs when the address could not be bound.")],
          long_running=True)
def tcp_listen(ctx: NodeContext) -> Iterator[list[Any]]:
    for pin in ("on_listening", "on_close", "exec_error"):
        ctx.deactivate(pin)
    config = netio.struct_input(ctx, "config", "a TCP listen config")
    host = netio.field(config, "host", str, "TCP listen config")
    port = netio.field(config, "port", int, "TCP listen config")
    timeout = netio.field(config, "timeout_seconds", int, "TCP listen config", 0)
    backlog = netio.field(config, "max_connections", int, "TCP listen config", 128)
    if not 0 <= port <= 65535 or timeout < 0 or not 1 <= backlog <= 65535:
        raise NodeError("TCP listen config needs port 0..65535, timeout_seconds >= 0 and max_connections 1..65535")
    try:
        # Listening is local (no egress check): any local address may be bound.
        listener = socket.create_server((host, port), backlog=backlog)
    except (OSError, UnicodeError) as exc:
        netio.fail_or_branch(ctx, "exec_error", f"TCP listen on {host}:{port} failed: {exc}")
        return
    ref_id = ctx.resources.add("tcp_listener", listener, socket.socket.close)
    ctx.activate("on_listening")
    for target in ctx.targets("on_listening"):
        yield [target]
    ctx.deactivate("on_listening")

    accepted: list[str] = []

    def accept(seconds: float) -> netio.Message | bool | None:
        listener.settimeout(seconds)
        try:
            conn, _address = listener.accept()
        except TimeoutError:
            return None
        except OSError:
            return False
        # max_connections also bounds the accepted connections left open at once (each holds a
        # file descriptor until a Close node or the end of the run).
        accepted[:] = [ref for ref in accepted if ref in ctx.resources]
        if len(accepted) >= backlog:
            ctx.log("Warn", f"refused a connection from {_peer(conn, '?')}: {backlog} connections are open")
            _close(conn)
            return None
        conn_id = ctx.resources.add("tcp", conn, _close)
        accepted.append(conn_id)
        return b"", {"session": {"ref_id": conn_id, "remote_addr": _peer(conn, "")}}

    why = yield from netio.hold(ctx, ref_id, timeout, accept)
    ctx.log("Debug", f"TCP listener on {host}:{port} stopped ({why})")
    ctx.resources.release(ref_id)
    ctx.activate("on_close")
