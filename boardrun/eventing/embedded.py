"""The embedded broker: Knative Broker + Trigger semantics in-process, for embedded mode.

It reads the same manifests a cluster applies (infra/eventing/broker.yaml and
triggers.yaml) and delivers real binary-mode HTTP CloudEvents to the subscribers they
name: a Knative Service `ref` maps to the embedded server (every function is served
there), `uri` to the path. Filters: the legacy `filter.attributes` and the
`filters` dialects exact, prefix, suffix, all, any, not. Delivery: the spec's retry
count, linear or exponential backoff, per-attempt timeout and dead-letter sink, with
Knative's retry rules (5xx, 404, 408, 409, 429 and network errors/timeouts retry;
other 4xx go straight to the dead letter). At least once: an event is acknowledged
at ingress and redelivered until the subscriber answers 2xx or it is dead-lettered.

Subscribers on the embedded server itself (a `ref`) are called in-process when the
broker is given that server's WSGI app: the same request (path, CloudEvent headers and
body) and the same status-code rules, without a socket and an HTTP parse each way.
An in-process call is not cut off at the delivery timeout (it runs in the broker's
worker thread until the handler returns); a handler that raises counts as a network
error (retried).

Not durable across a restart of the embedded server: queued deliveries are held in
memory. Nothing is lost for good: job.submitted events stay in the outbox until the
relay republishes them, and the reconcile repairs job states.
"""

from __future__ import annotations

import heapq
import io
import itertools
import logging
import re
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import httpx
import yaml

from boardrun.errors import ApiError
from boardrun.eventing.cloudevents_adapter import Event, EventParseError, parse, to_http_binary
from boardrun.web import json_response, read_body

log = logging.getLogger(__name__)

INFRA_EVENTING = Path(__file__).resolve().parents[2] / "infra" / "eventing"
RETRYABLE_STATUS = {404, 408, 409, 429}


def parse_duration(value: str) -> float:
    """ISO 8601 duration (PT0.2S, PT1M30S, P1D) in seconds."""
    m = re.fullmatch(r"P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?", value or "")
    if not m or value in ("P", "PT"):
        raise ValueError(f"not an ISO 8601 duration: {value!r}")
    d, h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    return d * 86400 + h * 3600 + mi * 60 + s


@dataclass(frozen=True)
class Destination:
    service: str | None  # Knative Service name (ref)
    uri: str  # absolute URI, or a path relative to the ref

    @classmethod
    def from_manifest(cls, spec: dict[str, Any]) -> "Destination":
        ref = spec.get("ref") or {}
        if ref and ref.get("kind") != "Service":
            raise ValueError(f"embedded broker can only deliver to Knative Services, not {ref.get('kind')}")
        return cls(service=ref.get("name"), uri=spec.get("uri", ""))

    def url(self, base_url: str) -> str:
        if self.service is None:
            return self.uri
        return base_url.rstrip("/") + (self.uri if self.uri.startswith("/") else "/" + self.uri)


@dataclass(frozen=True)
class DeliverySpec:
    retry: int = 10  # Knative's default for brokers without their own delivery
    backoff_policy: str = "exponential"
    backoff_delay: float = 0.2
    timeout: float = 30.0
    dead_letter: Destination | None = None

    @classmethod
    def from_manifest(cls, spec: dict[str, Any] | None) -> "DeliverySpec":
        base = cls()
        if not spec:
            return base
        dls = spec.get("deadLetterSink")
        return cls(
            retry=int(spec.get("retry", base.retry)),
            backoff_policy=spec.get("backoffPolicy", base.backoff_policy),
            backoff_delay=parse_duration(spec["backoffDelay"]) if "backoffDelay" in spec else base.backoff_delay,
            timeout=parse_duration(spec["timeout"]) if "timeout" in spec else base.timeout,
            dead_letter=Destination.from_manifest(dls) if dls else base.dead_letter,
        )

    def delay(self, retry_number: int) -> float:
        """Delay before retry number `retry_number` (1-based), as Knative computes it."""
        if self.backoff_policy == "linear":
            return self.backoff_delay * retry_number
        return self.backoff_delay * (2 ** retry_number)


def _attributes(event: Event) -> dict[str, str]:
    attrs = {"type": event.type, "source": event.source, "id": event.id, "specversion": "1.0", "time": event.time}
    if event.subject:
        attrs["subject"] = event.subject
    attrs.update(event.extensions)
    return attrs


def compile_filters(filters: list[dict[str, Any]]) -> Callable[[dict[str, str]], bool]:
    """The `filters` field: every expression must match (an implicit `all`)."""
    checks = [_compile_expression(f) for f in filters]
    return lambda attrs: all(check(attrs) for check in checks)


def _compile_expression(expr: dict[str, Any]) -> Callable[[dict[str, str]], bool]:
    if len(expr) != 1:
        raise ValueError(f"a filter expression has exactly one dialect, got {sorted(expr)}")
    (dialect, arg), = expr.items()
    if dialect in ("exact", "prefix", "suffix"):
        if not isinstance(arg, dict) or not arg:
            raise ValueError(f"{dialect} needs a map of attribute to value")
        op = {"exact": str.__eq__, "prefix": str.startswith, "suffix": str.endswith}[dialect]
        return lambda attrs: all(k in attrs and op(attrs[k], v) for k, v in arg.items())
    if dialect in ("all", "any"):
        subs = [_compile_expression(e) for e in arg]
        combine = all if dialect == "all" else any
        return lambda attrs: combine(s(attrs) for s in subs)
    if dialect == "not":
        sub = _compile_expression(arg)
        return lambda attrs: not sub(attrs)
    raise ValueError(f"unsupported filter dialect {dialect!r} (the embedded broker has no CESQL)")


@dataclass(frozen=True)
class Trigger:
    name: str
    matches: Callable[[dict[str, str]], bool]
    subscriber: Destination
    delivery: DeliverySpec

    @classmethod
    def from_manifest(cls, doc: dict[str, Any], broker_delivery: DeliverySpec) -> "Trigger":
        spec = doc["spec"]
        if spec.get("filters"):  # the newer field wins over `filter`, as in Knative
            matches = compile_filters(spec["filters"])
        else:
            wanted = (spec.get("filter") or {}).get("attributes") or {}
            matches = lambda attrs: all(v == "" or attrs.get(k) == v for k, v in wanted.items())  # noqa: E731
        # A Trigger's own delivery spec replaces the Broker's as a whole (its dead-letter
        # sink included); fields it leaves out take Knative's defaults.
        delivery = DeliverySpec.from_manifest(spec["delivery"]) if spec.get("delivery") else broker_delivery
        return cls(
            name=doc["metadata"]["name"],
            matches=matches,
            subscriber=Destination.from_manifest(spec["subscriber"]),
            delivery=delivery,
        )


def load_manifests(folder: Path = INFRA_EVENTING, broker_name: str = "boardrun") -> list[Trigger]:
    broker_delivery = DeliverySpec()
    docs = []
    for path in sorted(folder.glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    for doc in docs:
        if doc.get("kind") == "Broker" and doc["metadata"]["name"] == broker_name:
            broker_delivery = DeliverySpec.from_manifest(doc.get("spec", {}).get("delivery"))
    return [
        Trigger.from_manifest(d, broker_delivery)
        for d in docs
        if d.get("kind") == "Trigger" and d["spec"].get("broker") == broker_name
    ]


@dataclass
class _Delivery:
    event: Event
    trigger: Trigger
    attempt: int = 0  # attempts made so far


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Any]


def call_wsgi(app: WsgiApp, url: str, headers: dict[str, str], body: bytes) -> int:
    """POST `body` to `app` as a server would hand it the request for `url`; its status code."""
    parts = urlsplit(url)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST", "SCRIPT_NAME": "", "PATH_INFO": parts.path or "/", "QUERY_STRING": parts.query,
        "SERVER_NAME": parts.hostname or "127.0.0.1", "SERVER_PORT": str(parts.port or 80),
        "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": parts.netloc,
        "CONTENT_LENGTH": str(len(body)), "wsgi.version": (1, 0), "wsgi.url_scheme": parts.scheme or "http",
        "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr, "wsgi.multithread": True,
        "wsgi.multiprocess": False, "wsgi.run_once": False,
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else "HTTP_" + key] = value
    status: list[int] = []

    def start_response(line: str, _headers: Any, _exc_info: Any = None) -> Callable[[bytes], None]:
        status.append(int(line.split(" ", 1)[0]))
        return lambda _data: None

    result = app(environ, start_response)
    try:
        for _chunk in result:  # the body is not needed, but a response is consumed whole
            pass
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return status[0]


class EmbeddedBroker:
    def __init__(self, triggers: list[Trigger], base_url: str, *, workers: int = 8, local_app: WsgiApp | None = None):
        self.triggers = triggers
        self.base_url = base_url
        # The WSGI app serving base_url (the embedded server): its subscribers are called in-process.
        self.local_app = local_app
        self._queue: list[tuple[float, int, _Delivery]] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._stopping = False
        self._client = httpx.Client()
        self.stats = {"accepted": 0, "delivered": 0, "retried": 0, "dead_lettered": 0, "dropped": 0}
        self._threads = [threading.Thread(target=self._work, name=f"broker-{i}", daemon=True) for i in range(workers)]
        for t in self._threads:
            t.start()

    # -- ingress --------------------------------------------------------------
    def accept(self, event: Event) -> int:
        """Queue the event for every Trigger whose filter matches; returns how many."""
        attrs = _attributes(event)
        matched = [t for t in self.triggers if t.matches(attrs)]
        with self._cv:
            self.stats["accepted"] += 1
            for trigger in matched:
                self._push(0.0, _Delivery(event, trigger))
            self._cv.notify_all()
        return len(matched)

    def ingress_wsgi(self, environ, start_response):
        """POST a CloudEvent here (K_SINK in embedded mode): 202 once it is queued."""
        from werkzeug.wrappers import Request, Response

        request = Request(environ)
        if request.method != "POST":
            return Response(status=405, headers={"Allow": "POST"})(environ, start_response)
        try:
            # The same limit as the dispatcher's /events (MAX_BODY_BYTES): no event it
            # would refuse is held in memory here.
            event = parse(request.headers, read_body(request))
        except ApiError as err:
            return json_response(err.body(), err.status, err.headers)(environ, start_response)
        except EventParseError as exc:
            body = {"error": {"code": "not_a_cloudevent", "message": str(exc)}}
            return json_response(body, 400)(environ, start_response)
        self.accept(event)
        return Response(status=202)(environ, start_response)

    # -- delivery -------------------------------------------------------------
    def _push(self, due: float, delivery: _Delivery) -> None:
        heapq.heappush(self._queue, (time.monotonic() + due, next(self._seq), delivery))

    def _work(self) -> None:
        while True:
            with self._cv:
                while not self._stopping and (not self._queue or self._queue[0][0] > time.monotonic()):
                    wait = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._cv.wait(wait)
                if self._stopping:
                    return
                _, _, delivery = heapq.heappop(self._queue)
            self._deliver(delivery)

    def _send(self, url: str, event: Event, timeout: float) -> int | None:
        headers, body = to_http_binary(event)
        if self.local_app is not None and url.startswith(self.base_url.rstrip("/") + "/"):
            try:
                return call_wsgi(self.local_app, url, headers, body)
            except Exception:  # as a subscriber's crash looks from outside: no answer, retried
                log.exception("in-process delivery of %s to %s failed", event.id, url)
                return None
        try:
            return self._client.post(url, headers=headers, content=body, timeout=timeout).status_code
        except httpx.HTTPError as exc:
            log.info("delivery of %s to %s failed: %s", event.id, url, exc)
            return None

    def _deliver(self, delivery: _Delivery) -> None:
        trigger, spec = delivery.trigger, delivery.trigger.delivery
        url = trigger.subscriber.url(self.base_url)
        status = self._send(url, delivery.event, spec.timeout)
        delivery.attempt += 1
        if status is not None and status < 300:
            with self._cv:
                self.stats["delivered"] += 1
            return
        retryable = status is None or status >= 500 or status in RETRYABLE_STATUS
        if retryable and delivery.attempt <= spec.retry:
            with self._cv:
                self.stats["retried"] += 1
                self._push(spec.delay(delivery.attempt), delivery)
                self._cv.notify()
            return
        self._dead_letter(delivery, url, status)

    def _dead_letter(self, delivery: _Delivery, url: str, status: int | None) -> None:
        spec = delivery.trigger.delivery
        with self._cv:
            self.stats["dead_lettered" if spec.dead_letter else "dropped"] += 1
        if spec.dead_letter is None:
            log.error("event %s (%s) dropped after %d attempts: no dead-letter sink", delivery.event.id, delivery.event.type, delivery.attempt)
            return
        # Knative adds these extensions to dead-lettered events.
        event = delivery.event.with_extensions(knativeerrordest=url, knativeerrorcode=str(status or 0))
        dl_status = self._send(spec.dead_letter.url(self.base_url), event, spec.timeout)
        if dl_status is None or dl_status >= 300:
            log.error("dead-letter sink refused event %s (%s): %s", event.id, event.type, dl_status)

    def close(self) -> None:
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
        for t in self._threads:
            t.join(timeout=5)
        self._client.close()
