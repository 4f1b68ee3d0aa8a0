"""Publishing events to the broker at K_SINK (binary-mode HTTP POST).

Knative injects K_SINK (SinkBinding) in a cluster; the embedded server points it at
its own broker ingress, and registers that broker as the sink's in-process receiver,
so its own events skip the HTTP round trip (its executors, other processes, still
POST). Callers treat every failure as "not published yet": the outbox relay tries
again later.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Callable

import httpx

from boardrun.eventing.cloudevents_adapter import Event, to_http_binary

log = logging.getLogger(__name__)


class PublishError(Exception):
    """The broker did not accept the event."""


class HttpPublisher:
    def __init__(self, sink: str, *, timeout: float = 5.0):
        self.sink = sink
        # Loading the CA bundle costs ~40 ms (a lot for a short-lived executor): only an
        # https sink needs it.
        verify = sink.startswith("https:")
        self._client = httpx.Client(timeout=timeout, verify=verify)

    def publish(self, event: Event) -> None:
        headers, body = to_http_binary(event)
        try:
            response = self._client.post(self.sink, headers=headers, content=body)
        except httpx.HTTPError as exc:
            raise PublishError(f"broker at {self.sink} unreachable: {exc}") from None
        if response.status_code >= 300:
            raise PublishError(f"broker at {self.sink} answered {response.status_code}")

    def close(self) -> None:
        self._client.close()


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


_lock = threading.Lock()
_publisher: HttpPublisher | InProcessPublisher | None = None
_in_process: dict[str, Callable[[Event], object]] = {}


def serve_in_process(sink: str, receive: Callable[[Event], object] | None) -> None:
    """Events published to `sink` from this process go to `receive` directly (None: over
    HTTP again)."""
    global _publisher
    with _lock:
        if receive is None:
            _in_process.pop(sink, None)
        else:
            _in_process[sink] = receive
        _publisher = None


def sink_url() -> str | None:
    return os.environ.get("K_SINK") or None


def get_publisher() -> HttpPublisher | InProcessPublisher:
    """The process's publisher to K_SINK; PublishError if no sink is configured."""
    global _publisher
    sink = sink_url()
    if not sink:
        raise PublishError("K_SINK is not set: no broker to publish to")
    with _lock:
        if _publisher is None or _publisher.sink != sink:
            receive = _in_process.get(sink)
            _publisher = InProcessPublisher(sink, receive) if receive else HttpPublisher(sink)
        return _publisher
