"""The embedded broker routes as the Trigger manifests say and delivers as Knative
does: filters, retries with backoff on retryable answers, dead letter otherwise; the
same over HTTP and in-process (to the embedded server's own WSGI app)."""

import threading
import time
from collections import defaultdict
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from werkzeug.wrappers import Request, Response

from boardrun.eventing.cloudevents_adapter import Event, parse
from boardrun.eventing.embedded import (
    DeliverySpec,
    EmbeddedBroker,
    Trigger,
    compile_filters,
    load_manifests,
    parse_duration,
)


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class Subscriber:
    """A real HTTP endpoint on 127.0.0.1 that records events and answers scripted codes."""

    def __init__(self):
        self.received = defaultdict(list)
        self.over_http: list[bool] = []  # per request: did it come through the HTTP server?
        self.script: dict[str, list[int]] = {}
        self.server = make_server("127.0.0.1", 0, self.app, handler_class=_Quiet)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def app(self, environ, start_response):
        request = Request(environ)
        self.over_http.append("SERVER_SOFTWARE" in environ)  # wsgiref sets it, an in-process call does not
        event = parse(request.headers, request.get_data())
        self.received[request.path].append(event)
        codes = self.script.get(request.path) or [200]
        code = codes.pop(0) if len(codes) > 1 else codes[0]
        return Response(status=code)(environ, start_response)

    def wait_for(self, path, count, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.received[path]) < count:
            time.sleep(0.01)
        return self.received[path]

    def close(self):
        self.server.shutdown()


@pytest.fixture
def subscriber():
    s = Subscriber()
    yield s
    s.close()


@pytest.fixture(params=["http", "in_process"])
def broker_for(request, subscriber):
    """Builds the broker under test: delivering over HTTP, or calling the subscriber's app in-process."""
    made = []

    def make(triggers, workers=1):
        local_app = subscriber.app if request.param == "in_process" else None
        made.append(EmbeddedBroker(triggers, subscriber.url, workers=workers, local_app=local_app))
        return made[-1]

    yield make
    for broker in made:
        broker.close()
    if subscriber.over_http:
        assert set(subscriber.over_http) == {request.param == "http"}


def _trigger(name, filters, path, delivery):
    doc = {
        "metadata": {"name": name},
        "spec": {"broker": "b", "filters": filters, "subscriber": {"ref": {"kind": "Service", "name": "x"}, "uri": path}},
    }
    return Trigger.from_manifest(doc, delivery)


FAST = DeliverySpec(retry=3, backoff_policy="linear", backoff_delay=0.01, timeout=2, dead_letter=None)


def _with_dead_letter(spec):
    from boardrun.eventing.embedded import Destination

    return DeliverySpec(spec.retry, spec.backoff_policy, spec.backoff_delay, spec.timeout, Destination("x", "/dead"))


def test_filter_dialects():
    """exact, prefix, suffix, all, any and not match as Knative documents them."""
    attrs = {"type": "dev.boardrun.job.started", "source": "/boardrun/executor/job-1"}
    assert compile_filters([{"exact": {"type": "dev.boardrun.job.started"}}])(attrs)
    assert compile_filters([{"prefix": {"type": "dev.boardrun."}}, {"suffix": {"source": "job-1"}}])(attrs)
    assert not compile_filters([{"prefix": {"type": "dev.other."}}])(attrs)
    assert compile_filters([{"any": [{"exact": {"type": "x"}}, {"prefix": {"source": "/boardrun/"}}]}])(attrs)
    assert not compile_filters([{"all": [{"exact": {"type": "x"}}, {"prefix": {"source": "/boardrun/"}}]}])(attrs)
    assert compile_filters([{"not": {"exact": {"type": "x"}}}])(attrs)
    assert not compile_filters([{"exact": {"missing": "x"}}])(attrs)
    with pytest.raises(ValueError):
        compile_filters([{"cesql": "type = 'x'"}])


def test_durations_and_backoff():
    """ISO 8601 delays parse, and linear/exponential backoff follow Knative's formulas."""
    assert parse_duration("PT0.2S") == 0.2 and parse_duration("PT1M30S") == 90 and parse_duration("P1D") == 86400
    with pytest.raises(ValueError):
        parse_duration("5s")
    assert DeliverySpec(backoff_policy="linear", backoff_delay=0.5).delay(3) == 1.5
    assert DeliverySpec(backoff_policy="exponential", backoff_delay=0.5).delay(3) == 4.0


def test_manifests_route_job_events_to_the_dispatcher():
    """The repository's Trigger manifests send commands and executor reports to the dispatcher, nothing else."""
    triggers = {t.name: t for t in load_manifests()}
    commands, status = triggers["dispatcher-job-commands"], triggers["dispatcher-job-status"]
    submitted = {"type": "dev.boardrun.job.submitted", "source": "/boardrun/jobs"}
    started = {"type": "dev.boardrun.job.started", "source": "/boardrun/executor/job-1"}
    forged = {"type": "dev.boardrun.job.completed", "source": "/boardrun/jobs"}
    assert commands.matches(submitted) and not status.matches(submitted)
    assert status.matches(started) and not commands.matches(started)
    assert not status.matches(forged) and not commands.matches(forged)
    assert commands.subscriber.url("http://h:1") == "http://h:1/events"
    assert status.delivery.dead_letter is not None and status.delivery.dead_letter.uri == "/events/dead-letter"


def test_delivery_reaches_matching_triggers_only(subscriber, broker_for):
    """An event goes to every Trigger whose filter matches, in binary mode."""
    broker = broker_for(
        [_trigger("a", [{"prefix": {"type": "dev."}}], "/a", FAST), _trigger("b", [{"exact": {"type": "other"}}], "/b", FAST)],
        workers=2,
    )
    assert broker.accept(Event("dev.x", "/s", {"n": 1})) == 1
    got = subscriber.wait_for("/a", 1)
    assert got[0].data == {"n": 1}
    assert subscriber.received["/b"] == []


def test_retryable_answers_are_retried_until_success(subscriber, broker_for):
    """503, 429 and 404 are retried with backoff; the event arrives once it is accepted."""
    subscriber.script["/a"] = [503, 429, 404, 200]
    broker = broker_for([_trigger("a", [{"prefix": {"type": "dev."}}], "/a", FAST)])
    broker.accept(Event("dev.x", "/s", {}))
    assert len(subscriber.wait_for("/a", 4)) == 4
    time.sleep(0.1)
    assert broker.stats["delivered"] == 1 and broker.stats["retried"] == 3


def test_permanent_rejection_goes_straight_to_dead_letter(subscriber, broker_for):
    """A 400 is not retried: the event goes to the dead-letter sink with Knative's error extensions."""
    subscriber.script["/a"] = [400]
    broker = broker_for([_trigger("a", [{"prefix": {"type": "dev."}}], "/a", _with_dead_letter(FAST))])
    broker.accept(Event("dev.x", "/s", {}))
    dead = subscriber.wait_for("/dead", 1)
    assert len(subscriber.received["/a"]) == 1
    assert dead[0].extensions["knativeerrorcode"] == "400"
    assert dead[0].extensions["knativeerrordest"].endswith("/a")


def test_exhausted_retries_go_to_dead_letter(subscriber, broker_for):
    """An endpoint that keeps failing gets 1 + retry attempts, then the dead letter has the event."""
    subscriber.script["/a"] = [500]
    broker = broker_for([_trigger("a", [{"prefix": {"type": "dev."}}], "/a", _with_dead_letter(FAST))])
    broker.accept(Event("dev.x", "/s", {"k": "v"}))
    dead = subscriber.wait_for("/dead", 1)
    assert len(subscriber.received["/a"]) == 1 + FAST.retry
    assert dead[0].data == {"k": "v"}


def test_an_in_process_subscriber_that_raises_is_retried(subscriber):
    """A crash of the in-process handler is what a dropped connection is over HTTP: retried."""
    calls = []

    def flaky(environ, start_response):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return subscriber.app(environ, start_response)

    broker = EmbeddedBroker([_trigger("a", [{"prefix": {"type": "dev."}}], "/a", FAST)], subscriber.url, workers=1,
                            local_app=flaky)
    try:
        broker.accept(Event("dev.x", "/s", {"n": 2}))
        assert subscriber.wait_for("/a", 1)[0].data == {"n": 2}
        assert len(calls) == 2 and broker.stats["retried"] == 1
    finally:
        broker.close()


def test_unreachable_subscriber_counts_as_retryable(subscriber):
    """A refused connection is retried like a 5xx, then dead-lettered."""
    from boardrun.eventing.embedded import Destination

    spec = DeliverySpec(2, "linear", 0.01, 1, Destination(None, subscriber.url + "/dead"))
    doc = {"metadata": {"name": "a"}, "spec": {"broker": "b", "subscriber": {"uri": "http://127.0.0.1:1/nowhere"}}}
    broker = EmbeddedBroker([Trigger.from_manifest(doc, spec)], subscriber.url, workers=1)
    try:
        broker.accept(Event("dev.x", "/s", {}))
        assert len(subscriber.wait_for("/dead", 1)) == 1
        assert broker.stats["retried"] == 2
    finally:
        broker.close()


def test_trigger_delivery_replaces_the_brokers():
    """A Trigger with its own delivery spec does not inherit the Broker's dead-letter sink."""
    triggers = {t.name: t for t in load_manifests()}
    assert triggers["dispatcher-job-commands"].delivery.dead_letter is not None  # the Broker's
    watch = triggers["dispatcher-job-watch"].delivery
    assert watch.dead_letter is None and watch.retry == 5


def test_ingress_refuses_bodies_over_the_event_limit(monkeypatch):
    """Regression: /_broker/ingress read any body whole (a 40 MB event was accepted and
    held in memory); it refuses what /events refuses, with 413 and the error envelope."""
    from werkzeug.test import Client

    from boardrun import services
    from boardrun.eventing.cloudevents_adapter import to_http_binary

    monkeypatch.setenv("MAX_BODY_BYTES", "2048")
    services.reset()
    broker = EmbeddedBroker([], "http://127.0.0.1:1")
    try:
        client = Client(broker.ingress_wsgi)
        headers, body = to_http_binary(Event("dev.example.big", "/t", {"blob": "x" * 4096}))
        r = client.post("/", data=body, headers=headers)
        assert r.status_code == 413 and r.get_json()["error"]["code"] == "payload_too_large"
        headers, body = to_http_binary(Event("dev.example.small", "/t", {"blob": "x" * 100}))
        assert client.post("/", data=body, headers=headers).status_code == 202
        r = client.post("/", data=b"{}", headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and r.get_json()["error"]["code"] == "not_a_cloudevent"
    finally:
        broker.close()
        monkeypatch.delenv("MAX_BODY_BYTES")
        services.reset()
