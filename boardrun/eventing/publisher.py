"""Publishing events to the broker at K_SINK (binary-mode HTTP POST).

Knative injects K_SINK (SinkBinding) in a cluster; the embedded server points it at
its own broker ingress (`settings.eventing.sink`). Callers treat every failure as "not published yet": the
outbox relay tries again later.
"""

from __future__ import annotations

import logging

import httpx

from boardrun import services
from boardrun.config import get_settings
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


def sink_url() -> str | None:
    return get_settings().eventing.sink


def get_publisher() -> HttpPublisher:
    """The process's publisher to K_SINK; PublishError if no sink is configured."""
    return services.current().publisher
