"""WebSocket client connections (connect, send, close) with the ``websockets`` sync client.

The TCP connection is opened by the egress helper to the checked address, and the WebSocket
handshake runs over it (for wss:// with TLS verified against the URL's host name).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator
from urllib.parse import urlsplit, urlunsplit

from ... import http_egress, netio
from ...errors import NodeError
from ...registry import inp, out, register
from .tcp import payload_bytes

if TYPE_CHECKING:
    from ...runtime import NodeContext

_SESSION = inp("session", "Session", "Struct", options=netio.ENFORCE_SCHEMA,
               description="A session from 'WebSocket Connect'.")


def _config(ctx: NodeContext) -> tuple[str, dict[str, str], int]:
    config = netio.struct_input(ctx, "config", "a WebSocket config")
    url = netio.field(config, "url", str, "WebSocket config")
    headers = netio.field(config, "headers", dict, "WebSocket config", {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise NodeError("WebSocket config field 'headers' must map names to strings")
    timeout = netio.field(config, "timeout_seconds", int, "WebSocket config", 0)
    if timeout < 0:
        raise NodeError("WebSocket config field 'timeout_seconds' must not be negative")
    return url, headers, timeout


def _public_url(parts: Any) -> str:
    """The URL without user info or query: those may carry credentials and go nowhere near a pin."""
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _open(ctx: NodeContext, url: str, headers: dict[str, str]) -> Any:
    from websockets.exceptions import InvalidHandshake, InvalidURI
    from websockets.sync.client import connect

    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise NodeError(f"invalid WebSocket URL '{_public_url(parts)}': only absolute ws:// and wss:// URLs")
    try:
        port = parts.port or (443 if parts.scheme == "wss" else 80)
    except ValueError:
        raise NodeError("invalid WebSocket URL: bad port") from None
    timeout = netio.io_timeout(ctx)
    sock = http_egress.connect_checked(ctx.egress, parts.hostname, port, timeout)
    extra: dict[str, Any] = {}
    if parts.scheme == "wss":
        import ssl

        extra = {"ssl": ssl.create_default_context(), "server_hostname": parts.hostname}
    try:
        # max_size caps every received message; the handshake itself is bounded by open_timeout.
        # legacy=True: the connection outlives this call (the run's resource registry closes it).
        return connect(url, sock=sock, additional_headers=headers, open_timeout=timeout, close_timeout=2,
                       max_size=ctx.egress.max_response_bytes, proxy=None, legacy=True, **extra)
    except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
        sock.close()
        raise NodeError(f"WebSocket handshake with {_public_url(parts)} failed: {type(exc).__name__}: {exc}") from None


@register("websocket_connect", "WebSocket Connect", "Web/WebSocket",
          "Opens a WebSocket, runs 'On Connect' with the session, then keeps it open until it is closed, "
          "the server closes it or the config's timeout passes, and continues on 'On Close'.",
          [inp("exec_in", "Execute", "Execution"),
           inp("config", "Config", "Struct", options=netio.ENFORCE_SCHEMA,
               description="{url, headers, timeout_seconds}; timeout 0 waits until the run's deadline."),
           out("on_connect", "On Connect", "Execution", description="Runs once the handshake is done."),
           out("session", "Session", "Struct", options=netio.ENFORCE_SCHEMA,
               description="{ref_id, url}; the URL without user info or query."),
           out("on_close", "On Close", "Execution", description="Runs after the connection ended."),
           out("exec_error", "Error", "Execution", description="Runs when the connection could not be made.")],
          long_running=True)
def websocket_connect(ctx: NodeContext) -> Iterator[list[Any]]:
    for pin in ("on_connect", "on_close", "exec_error"):
        ctx.deactivate(pin)
    url, headers, timeout = _config(ctx)
    try:
        ws = _open(ctx, url, headers)
    except NodeError as exc:
        netio.fail_or_branch(ctx, "exec_error", str(exc))
        return
    ref_id = ctx.resources.add("websocket", ws, lambda w: w.close())
    ctx.set("session", {"ref_id": ref_id, "url": _public_url(urlsplit(url))})
    ctx.activate("on_connect")
    for target in ctx.targets("on_connect"):
        yield [target]
    ctx.deactivate("on_connect")

    def receive(seconds: float) -> netio.Message | bool | None:
        from websockets.exceptions import ConnectionClosed

        try:
            message = ws.recv(timeout=seconds)
        except TimeoutError:
            return None
        except (ConnectionClosed, OSError):
            return False
        return (message.encode("utf-8") if isinstance(message, str) else message), {}

    why = yield from netio.hold(ctx, ref_id, timeout, receive)
    ctx.log("Debug", f"WebSocket {_public_url(urlsplit(url))} ended ({why})")
    ctx.resources.release(ref_id)
    ctx.activate("on_close")


@register("websocket_send", "WebSocket Send", "Web/WebSocket", "Sends one text or binary message on an open WebSocket.",
          [inp("exec_in", "Execute", "Execution"),
           _SESSION,
           inp("message_type", "Message Type", "String", default="Text", options={"valid_values": ["Text", "Binary"]},
               description="Text sends a text frame; Binary expects an array of byte values."),
           inp("payload", "Payload", "String", description="What to send."),
           out("exec_out", "Done", "Execution")])
def websocket_send(ctx: NodeContext) -> None:
    from websockets.exceptions import ConnectionClosed

    ctx.deactivate("exec_out")
    ws = ctx.resources.get("websocket", ctx.get("session"))
    data = payload_bytes(ctx)
    message: str | bytes = data if ctx.get("message_type") == "Binary" else data.decode("utf-8")
    def send() -> None:
        # websockets writes with no timeout of its own; bound it like every other network call.
        ws.socket.settimeout(netio.io_timeout(ctx))
        try:
            ws.send(message)
        finally:
            try:
                ws.socket.settimeout(None)
            except OSError:
                pass  # the server closed the connection right after the frame: its reader closed the socket

    netio.guarded("WebSocket send", send, ConnectionClosed)
    ctx.activate("exec_out")


@register("websocket_close", "WebSocket Close", "Web/WebSocket",
          "Closes a WebSocket with a normal close; one already closed is left alone.",
          [inp("exec_in", "Execute", "Execution"), _SESSION, out("exec_out", "Done", "Execution")])
def websocket_close(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    netio.close_session(ctx, "websocket", "WebSocket")
    ctx.activate("exec_out")
