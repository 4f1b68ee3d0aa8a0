"""Publishing to K_SINK: binary-mode POSTs over kept-alive connections (reopened when the
broker closed one), failures as PublishError, and the embedded server's in-process sink."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from boardrun import services
from boardrun.eventing import publisher
from boardrun.eventing.cloudevents_adapter import Event, parse
from boardrun.eventing.publisher import HttpPublisher, PublishError


class Sink:
    """A real HTTP/1.1 sink on 127.0.0.1: records each event and the client port it came from."""

    def __init__(self, status: int = 202, close_after_each: bool = False):
        self.events: list[Event] = []
        self.ports: list[int] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                sink.events.append(parse(dict(self.headers), body))
                sink.ports.append(self.client_address[1])
                self.send_response(status)
                self.send_header("Content-Length", "0")
                if close_after_each:  # closes the connection without saying so
                    self.close_connection = True
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/ingress"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sink():
    s = Sink()
    yield s
    s.close()


def test_events_arrive_in_binary_mode_over_one_kept_alive_connection(sink):
    """Three publishes in a row: three CloudEvents with their data, on one connection."""
    pub = HttpPublisher(sink.url)
    try:
        for n in range(3):
            pub.publish(Event("dev.example.x", "/test", {"n": n}))
    finally:
        pub.close()
    assert [e.data for e in sink.events] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert len(set(sink.ports)) == 1


def test_a_connection_the_broker_closed_is_opened_again():
    """The sink drops the connection after each answer: every publish still arrives."""
    sink = Sink(close_after_each=True)
    pub = HttpPublisher(sink.url)
    try:
        for n in range(3):
            pub.publish(Event("dev.example.x", "/test", {"n": n}))
    finally:
        pub.close()
        sink.close()
    assert [e.data for e in sink.events] == [{"n": 0}, {"n": 1}, {"n": 2}]


def test_refusals_and_unreachable_sinks_are_publish_errors():
    """A 5xx answer and a refused connection both raise PublishError (the outbox retries)."""
    failing = Sink(status=503)
    try:
        with pytest.raises(PublishError, match="answered 503"):
            HttpPublisher(failing.url).publish(Event("dev.example.x", "/test", {}))
    finally:
        failing.close()
    with pytest.raises(PublishError, match="unreachable"):
        HttpPublisher("http://127.0.0.1:1/").publish(Event("dev.example.x", "/test", {}))
    with pytest.raises(PublishError, match="not an http"):
        HttpPublisher("ftp://example.com/")


def test_the_in_process_sink_receives_events_directly(monkeypatch, sink):
    """serve_in_process: events for that sink go to the receiver, not over HTTP; a receiver
    that raises is a PublishError; unregistered, the sink is POSTed to again."""
    monkeypatch.setenv("K_SINK", sink.url)
    services.reset()
    got: list[Event] = []
    publisher.serve_in_process(sink.url, got.append)
    try:
        publisher.get_publisher().publish(Event("dev.example.x", "/test", {"n": 1}))
        assert [e.data for e in got] == [{"n": 1}] and sink.events == []

        def refuse(event):
            raise RuntimeError("closed")

        publisher.serve_in_process(sink.url, refuse)
        with pytest.raises(PublishError, match="in-process"):
            publisher.get_publisher().publish(Event("dev.example.x", "/test", {}))
    finally:
        publisher.serve_in_process(sink.url, None)
    publisher.get_publisher().publish(Event("dev.example.x", "/test", {"n": 2}))
    assert [e.data for e in sink.events] == [{"n": 2}]
