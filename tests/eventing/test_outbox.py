"""The outbox: a row is sent once, by its writer or by the relay, never by both; a failed
publish leaves it to the relay, which sends it once the broker is back."""

from datetime import timedelta

from boardrun import services
from boardrun.db import session_scope, utcnow
from boardrun.eventing import outbox
from boardrun.eventing.cloudevents_adapter import Event
from tests.conftest import free_port
from tests.jobs.test_dispatcher import _Sink


def _add(event_type: str = "com.example.thing") -> outbox.OutboxEvent:
    with session_scope() as session:
        return outbox.add(session, Event(event_type, "/tests", {"n": 1}, extensions={"jobid": "job-1"}))


def test_a_row_its_writer_holds_is_not_relayed_and_is_published_once(env, monkeypatch):
    """The relay skips a row whose writer still holds the claim; the writer's publish sends it, and nothing sends it again."""
    sink = _Sink()
    monkeypatch.setenv("K_SINK", sink.url)
    services.reset()
    row = _add()
    assert outbox.relay_outbox() == 0
    assert outbox.publish(row)
    assert outbox.relay_outbox() == 0
    sink.server.shutdown()
    assert [(e.id, e.type, e.data, e.extensions["jobid"]) for e in sink.events] == [(row.event_id, row.type, {"n": 1}, "job-1")]


def test_a_failed_publish_is_relayed_once_the_broker_is_back(env, monkeypatch):
    """Publishing to a broker that is down releases the claim; the relay then sends the rows oldest first."""
    monkeypatch.setenv("K_SINK", f"http://127.0.0.1:{free_port()}/")  # nothing listens there
    services.reset()
    first, second = _add("com.example.first"), _add("com.example.second")
    assert not outbox.publish(first) and not outbox.publish(second)
    assert outbox.relay_outbox() == 0  # still down: the relay stops at the first failure
    sink = _Sink()
    monkeypatch.setenv("K_SINK", sink.url)
    services.reset()
    assert outbox.relay_outbox() == 2
    assert outbox.relay_outbox() == 0
    sink.server.shutdown()
    assert [e.type for e in sink.events] == ["com.example.first", "com.example.second"]


def test_an_expired_claim_is_taken_by_the_relay(env, monkeypatch):
    """A writer that died after its commit (its claim ran out) leaves the row to the relay."""
    sink = _Sink()
    monkeypatch.setenv("K_SINK", sink.url)
    services.reset()
    row = _add()
    with session_scope() as session:
        session.get(outbox.OutboxEvent, row.id).claimed_until = utcnow() - timedelta(seconds=1)
    assert outbox.relay_outbox() == 1
    sink.server.shutdown()
    assert [e.id for e in sink.events] == [row.event_id]
