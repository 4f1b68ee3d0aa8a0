"""Model Context Protocol servers as agent tools, through the official ``mcp`` SDK (Streamable HTTP).

The SDK is asynchronous and the engine is not: each connection runs one asyncio loop in a thread
of its own, and one task there holds the SDK's client open for the connection's whole life (the
SDK's task groups must be entered and left by the same task). Node code hands it requests and
waits for the answers in short slices, checking the run's cancel flag and deadline in between; a
request that takes longer than the egress timeout is abandoned. Connections are run resources,
closed when the run ends.

The server's address obeys the engine's egress policy as an HTTP node's does: every request the SDK
sends resolves the host, refuses private addresses (unless allowed) and connects to the checked
address (so a DNS answer cannot change in between); answers are capped at the policy's size limit;
no environment proxy is used.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from typing import TYPE_CHECKING, Any, Awaitable, Callable
from urllib.parse import urlsplit

from .. import http_egress, netio
from ..errors import NodeError

if TYPE_CHECKING:
    from ..runtime import NodeContext

KIND = "mcp connection"
CLOSE_WAIT_SECONDS = 5.0
BACKSTOP_SECONDS = 5.0
MAX_RESULT_CHARS = 100_000  # a tool result goes back to the model: keep it within reason


def _describe(exc: BaseException) -> str:
    """The innermost cause of an SDK failure (anyio wraps them in exception groups)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def check_uri(ctx: NodeContext, uri: str) -> None:
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NodeError(f"MCP server URI '{uri}' must be an absolute http or https URL (Streamable HTTP)")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise NodeError(f"MCP server URI '{uri}' has an invalid port") from None
    http_egress.resolve_checked(parts.hostname, port, ctx.egress)


def _egress_transport(policy: http_egress.EgressPolicy, uri: str) -> Any:
    """An httpx2 transport that connects only where ``policy`` allows, and caps each answer's size."""
    import anyio
    import httpx2

    class Capped(httpx2.AsyncByteStream):
        def __init__(self, stream: Any) -> None:
            self._stream = stream

        async def __aiter__(self) -> Any:
            size = 0
            async for chunk in self._stream:
                size += len(chunk)
                if size > policy.max_response_bytes:
                    raise NodeError(f"an answer of MCP server {uri} exceeds the limit of "
                                    f"{policy.max_response_bytes} bytes")
                yield chunk

        async def aclose(self) -> None:
            await self._stream.aclose()

    class EgressTransport(httpx2.AsyncBaseTransport):
        def __init__(self) -> None:
            self._inner = httpx2.AsyncHTTPTransport(trust_env=False)

        async def handle_async_request(self, request: Any) -> Any:
            url = request.url
            port = url.port or (443 if url.scheme == "https" else 80)
            address = await anyio.to_thread.run_sync(http_egress.resolve_checked, url.host, port, policy)
            request.headers["Host"] = url.netloc.decode("ascii")
            if url.scheme == "https":
                request.extensions = {**request.extensions, "sni_hostname": url.host}
            request.url = url.copy_with(host=address)
            response = await self._inner.handle_async_request(request)
            response.stream = Capped(response.stream)
            return response

        async def aclose(self) -> None:
            await self._inner.aclose()

    return EgressTransport()


class Connection:
    """One open MCP session on its own event loop thread."""

    def __init__(self, uri: str, timeout: float, policy: http_egress.EgressPolicy) -> None:
        self.uri = uri
        self._policy = policy
        self.ref_id = ""  # its id among the run's resources, once registered
        self._timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._requests: asyncio.Queue[Any] | None = None
        self._ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._main: concurrent.futures.Future[None] | None = None
        self._busy = False  # a request is being answered (closing then cancels it)
        self._finished = threading.Event()
        self._failure: BaseException | None = None  # why the session ended, when it failed
        self._thread = threading.Thread(target=self._loop.run_forever, name="mcp-client", daemon=True)
        self._thread.start()

    async def _session(self) -> None:
        import httpx2
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client

        self._requests = asyncio.Queue()
        try:
            # The node's own wait ends first; the SDK's timeouts only stop a connection left behind.
            backstop = self._timeout + BACKSTOP_SECONDS
            async with httpx2.AsyncClient(transport=_egress_transport(self._policy, self.uri), trust_env=False,
                                          timeout=httpx2.Timeout(backstop)) as http:
                async with Client(streamable_http_client(self.uri, http_client=http),
                                  read_timeout_seconds=backstop, cache=None) as client:
                    self._ready.set_result(None)
                    while True:
                        item = await self._requests.get()
                        if item is None:
                            return
                        make, answer = item
                        if answer.cancelled():
                            continue
                        self._busy = True
                        try:
                            result = await make(client)
                        except Exception as exc:  # noqa: BLE001 - handed to the waiting node
                            if not answer.done():
                                answer.set_exception(exc)
                        else:
                            if not answer.done():
                                answer.set_result(result)
                        finally:
                            self._busy = False
        except BaseException as exc:
            self._failure = exc
            if not self._ready.done():
                self._ready.set_exception(exc)
            if not isinstance(exc, (Exception, asyncio.CancelledError)):
                raise
        finally:
            self._finished.set()

    def _wait(self, ctx: NodeContext, future: concurrent.futures.Future[Any], what: str) -> Any:
        until = time.monotonic() + self._timeout
        while True:
            wait = netio.wait_slice(ctx, until)  # outside the try: a cancel must stop the run, not fail the node
            try:
                return future.result(timeout=wait)
            except concurrent.futures.TimeoutError:
                if future is not self._ready and self._main is not None and self._main.done():
                    future.cancel()
                    why = f" ({_describe(self._failure)})" if self._failure is not None else ""
                    raise NodeError(f"MCP server {self.uri}: the connection ended before {what} was "
                                    f"answered{why}") from None
                if time.monotonic() >= until:
                    future.cancel()
                    raise NodeError(f"MCP server {self.uri} did not answer {what} within "
                                    f"{self._timeout:g} s") from None
            except (NodeError, concurrent.futures.CancelledError):
                raise
            except BaseException as exc:  # noqa: BLE001 - every SDK failure is the server's problem
                raise NodeError(f"MCP server {self.uri}: {what} failed ({_describe(exc)})") from None

    def open(self, ctx: NodeContext) -> None:
        self._main = asyncio.run_coroutine_threadsafe(self._session(), self._loop)
        try:
            self._wait(ctx, self._ready, "the connection")
        except BaseException:
            self.close()
            raise

    def request(self, ctx: NodeContext, make: Callable[[Any], Awaitable[Any]], what: str) -> Any:
        answer: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._loop.call_soon_threadsafe(self._requests.put_nowait, (make, answer))  # type: ignore[union-attr]
        try:
            return self._wait(ctx, answer, what)
        except BaseException:
            answer.cancel()
            raise

    def close(self) -> None:
        if self._loop.is_closed():
            return
        if self._main is not None and not self._main.done():
            if self._busy or not self._ready.done():
                self._main.cancel()  # still connecting, or a request abandoned by a cancel or a timeout
            else:
                self._loop.call_soon_threadsafe(self._requests.put_nowait, None)  # a clean goodbye
            if not self._finished.wait(CLOSE_WAIT_SECONDS):
                self._main.cancel()
                self._finished.wait(CLOSE_WAIT_SECONDS)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(CLOSE_WAIT_SECONDS)
        if not self._thread.is_alive():
            self._loop.close()


def connect(ctx: NodeContext, uri: str) -> Connection:
    """An open connection to the MCP server at ``uri``, registered as a run resource."""
    check_uri(ctx, uri)
    connection = Connection(uri, max(0.05, min(ctx.egress.timeout_seconds, ctx.time_left())), ctx.egress)
    connection.open(ctx)
    connection.ref_id = ctx.resources.add(KIND, connection, Connection.close)
    return connection


def list_tools(ctx: NodeContext, connection: Connection) -> list[dict[str, Any]]:
    """Every tool of the server (all pages), as OpenAI function tools."""
    tools: list[dict[str, Any]] = []
    cursor: str | None = None
    for _page in range(1000):  # a server that keeps handing out cursors must not loop us forever
        page = connection.request(ctx, lambda client, c=cursor: client.list_tools(cursor=c), "the tool list")
        for tool in page.tools:
            function: dict[str, Any] = {"name": tool.name, "parameters": tool.input_schema or {"type": "object"}}
            if tool.description:
                function["description"] = tool.description
            tools.append({"type": "function", "function": function})
        cursor = page.next_cursor
        if not cursor:
            return tools
    raise NodeError(f"MCP server {connection.uri} lists more than 1000 pages of tools")


def call_tool(ctx: NodeContext, connection: Connection, name: str, arguments: dict[str, Any]) -> str:
    """The text the model gets back for one tool call (a tool's own error included, so it can recover)."""
    import json

    result = connection.request(ctx, lambda client: client.call_tool(name, arguments), f"the call of '{name}'")
    parts = []
    for block in result.content:
        text = getattr(block, "text", None)
        if isinstance(text, str):
            parts.append(text)
        else:  # images, audio, resources: the model gets their description, not the bytes
            parts.append(json.dumps(block.model_dump(mode="json", exclude={"data", "blob"}, exclude_none=True)))
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    text = "\n".join(parts)
    if len(text) > MAX_RESULT_CHARS:
        text = text[:MAX_RESULT_CHARS] + "…"
    return f"error: {text}" if result.is_error else text
