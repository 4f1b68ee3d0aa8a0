"""UDP sockets (bind, send to, close). Datagrams go out only to addresses the egress policy allows."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any, Iterator

from ... import http_egress, netio
from ...coerce import as_int, as_str
from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext

_SESSION = inp("session", "Session", "Struct", options=netio.ENFORCE_SCHEMA,
               description="A session from 'UDP Bind'.")
MAX_DATAGRAM = 65507  # the largest UDP payload over IPv4


def _bind(host: str, port: int) -> socket.socket:
    # Binding is local, not egress: any local address (0.0.0.0 included) may be bound.
    if type(port) is not int or not 0 <= port <= 65535:
        raise NodeError(f"UDP config field 'port' must be an integer from 0 to 65535, got {port!r}")
    try:
        family, _type, _proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_DGRAM, flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise NodeError(f"could not resolve UDP bind address '{host}': {exc}") from None
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise NodeError(f"UDP bind to {host}:{port} failed: {exc.strerror or exc}") from None
    return sock


@register("udp_bind", "UDP Bind", "Web/UDP", "Opens a UDP socket bound to a local address and port.",
          [inp("exec_in", "Execute", "Execution"),
           inp("config", "Config", "Struct", options=netio.ENFORCE_SCHEMA,
               description="{host, port}: the local address to bind; port 0 picks a free port."),
           out("exec_out", "Done", "Execution", description="Runs once bound."),
           out("session", "Session", "Struct", options=netio.ENFORCE_SCHEMA,
               description="{ref_id, local_addr} naming the socket."),
           out("exec_error", "Error", "Execution", description="Runs when the socket could not be bound.")])
def udp_bind(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    ctx.deactivate("exec_error")
    config = netio.struct_input(ctx, "config", "a UDP config")
    host = netio.field(config, "host", str, "UDP config")
    port = netio.field(config, "port", int, "UDP config")
    try:
        sock = _bind(host, port)
    except NodeError as exc:
        netio.fail_or_branch(ctx, "exec_error", str(exc))
        return
    address, bound_port = sock.getsockname()[:2]
    local = f"[{address}]:{bound_port}" if ":" in address else f"{address}:{bound_port}"
    ctx.set("session", {"ref_id": ctx.resources.add("udp", sock, socket.socket.close), "local_addr": local})
    ctx.activate("exec_out")


@register("udp_send_to", "UDP Send To", "Web/UDP", "Sends the payload as one datagram to a host and port.",
          [inp("exec_in", "Execute", "Execution"),
           _SESSION,
           inp("target_host", "Target Host", "String", description="Host name or address to send to."),
           inp("target_port", "Target Port", "Integer"),
           inp("payload", "Payload", "String", description="Text, sent as UTF-8."),
           out("exec_out", "Done", "Execution"),
           out("bytes_sent", "Bytes Sent", "Integer")])
def udp_send_to(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    sock: socket.socket = ctx.resources.get("udp", ctx.get("session"))
    host = as_str(ctx.get("target_host"), "target_host")
    data = as_str(ctx.get("payload"), "payload").encode("utf-8")
    if len(data) > MAX_DATAGRAM:
        raise NodeError(f"payload of {len(data)} bytes does not fit in one UDP datagram ({MAX_DATAGRAM} at most)")
    address, port = http_egress.datagram_target(ctx.egress, host, as_int(ctx.get("target_port"), "target_port"))
    if (":" in address) != (sock.family == socket.AF_INET6):
        raise NodeError(f"'{host}' resolves to {address}, which this socket's address family cannot reach")
    sock.settimeout(netio.io_timeout(ctx))
    sent = netio.guarded("UDP send", lambda: sock.sendto(data, (address, port)))
    ctx.set("bytes_sent", sent)
    ctx.activate("exec_out")


@register("udp_close", "UDP Close", "Web/UDP", "Closes a UDP socket; one already closed is left alone.",
          [inp("exec_in", "Execute", "Execution"), _SESSION, out("exec_out", "Done", "Execution")])
def udp_close(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    netio.close_session(ctx, "udp", "UDP")
    ctx.activate("exec_out")


@register("udp_receive", "UDP Receive", "Web/UDP",
          "Runs 'On Listening', then hands every datagram arriving on a bound socket to the referenced "
          "function until the socket is closed or the timeout passes, and continues on 'On Close'.",
          [inp("exec_in", "Execute", "Execution"),
           _SESSION,
           inp("timeout_seconds", "Timeout (seconds)", "Integer", default=0,
               description="0 receives until the socket is closed or the run's deadline."),
           out("on_listening", "On Listening", "Execution", description="Runs before the first datagram is read."),
           out("on_close", "On Close", "Execution", description="Runs when receiving stopped.")],
          long_running=True)
def udp_receive(ctx: NodeContext) -> Iterator[list[Any]]:
    ctx.deactivate("on_listening")
    ctx.deactivate("on_close")
    session = ctx.get("session")
    sock: socket.socket = ctx.resources.get("udp", session)
    timeout = as_int(ctx.get("timeout_seconds"), "timeout_seconds")
    if timeout < 0:
        raise NodeError("input 'timeout_seconds' must not be negative")
    ctx.activate("on_listening")
    for target in ctx.targets("on_listening"):
        yield [target]
    ctx.deactivate("on_listening")

    def receive(seconds: float) -> netio.Message | bool | None:
        sock.settimeout(seconds)
        try:
            data, sender = sock.recvfrom(65535)
        except TimeoutError:
            return None
        except OSError:
            return False
        address, port = sender[:2]
        return data, {"sender_addr": f"[{address}]:{port}" if ":" in address else f"{address}:{port}"}

    why = yield from netio.hold(ctx, session["ref_id"], timeout, receive)
    ctx.log("Debug", f"UDP receive stopped ({why})")
    ctx.activate("on_close")
