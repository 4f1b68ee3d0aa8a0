"""Publishing events to the broker at K_SINK (binary-mode HTTP POST).

Knative injects K_SINK (SinkBinding) in a cluster; the embedded server points it at
its own broker ingress (`settings.eventing.sink`), and registers that broker as the
sink's in-process receiver, so its own events skip the HTTP round trip (its executors,
other processes, still POST). Callers treat every failure as "not published yet": the
outbox relay tries again later.
"""

from __future__ import annotations

import http.client
import logging
import ssl
import threading
from typing import Callable, Union
from urllib.parse import urlsplit

from boardrun import services
from boardrun.config import get_settings
from boardrun.eventing.cloudevents_adapter import Event, to_http_binary

log = logging.getLogger(__name__)


class PublishError(Exception):
    """The broker did not accept the event."""


class HttpPublisher:
    """POSTs to the sink over keep-alive connections (a few, reused by whichever thread
    publishes next). The standard library's client, not httpx: building an httpx client
    and sending through it cost an executor more CPU than its whole trivial run."""

    def __init__(self, sink: str, *, timeout: float = 5.0):
        self.sink = sink
        self.timeout = timeout
        parts = urlsplit(sink)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PublishError(f"K_SINK is not an http(s) URL: {sink!r}")
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._idle: list[http.client.HTTPConnection] = []
        self._idle_lock = threading.Lock()

    def _connection(self) -> http.client.HTTPConnection:
        with self._idle_lock:
            if self._idle:
                return self._idle.pop()
        if self._https:  # only an https sink pays for loading the CA bundle
            return http.client.HTTPSConnection(self._host, self._port, timeout=self.timeout,
                                               context=ssl.create_default_context())
        return http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)

    def _post(self, conn: http.client.HTTPConnection, headers: dict[str, str], body: bytes) -> int:
        conn.request("POST", self._target, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.will_close:
            conn.close()
        return response.status

    def publish(self, event: Event) -> None:
        headers, body = to_http_binary(event)
        conn = self._connection()
        try:
            try:
                status = self._post(conn, headers, body)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # A kept-alive connection the broker closed meanwhile: one fresh try (nothing was
                # accepted on it, and a duplicate would be harmless: events are deduplicated).
                conn.close()
                status = self._post(conn, headers, body)
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise PublishError(f"broker at {self.sink} unreachable: {exc}") from None
        with self._idle_lock:
            self._idle.append(conn)
        if status >= 300:
            raise PublishError(f"broker at {self.sink} answered {status}")

    def close(self) -> None:
        with self._idle_lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class InProcessPublisher:
    """Hands events to a receiver in this process (the embedded broker's ingress)."""

    def __init__(self, sink: str, receive: Callable[[Event], object]):
        self.sink = sink
        self._receive = receive

    def publish(self, event: Event) -> None:
        try:
            self._receive(event)
        except Exception as exc:  # as a broker that answers 5xx: the outbox relay sends it later
            raise PublishError(f"the in-process broker refused the event: {exc}") from exc

    def close(self) -> None:
        pass  # nothing to release: the receiver belongs to the embedded broker


Publisher = Union[HttpPublisher, InProcessPublisher]


_lock = threading.Lock()
_in_process: dict[str, Callable[[Event], object]] = {}


def serve_in_process(sink: str, receive: Callable[[Event], object] | None) -> None:
    """Events published to `sink` from this process go to `receive` directly (None: over
    HTTP again)."""
    with _lock:
        if receive is None:
            _in_process.pop(sink, None)
        else:
            _in_process[sink] = receive
    services.current().forget("publisher")


def make_publisher(sink: str) -> Publisher:
    """The publisher for `sink`: in-process if this process serves it, else over HTTP."""
    with _lock:
        receive = _in_process.get(sink)
    return InProcessPublisher(sink, receive) if receive else HttpPublisher(sink)


def sink_url() -> str | None:
    return get_settings().eventing.sink


def get_publisher() -> Publisher:
    """The process's publisher to K_SINK; PublishError if no sink is configured."""
    return services.current().publisher
