"""The outbox: a row is sent once, by its writer or by the relay, never by both; a failed
publish leaves it to the relay, which sends it once the broker is back; publishes at the
same time share the write that marks them published."""

import threading
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from boardrun import services
from boardrun.db import get_engine, session_scope, utcnow
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


def _published(row_id: int) -> bool:
    with session_scope() as session:
        return session.get(outbox.OutboxEvent, row_id).published_at is not None


def test_rows_published_while_a_mark_is_being_written_share_the_next_write(env, monkeypatch):
    """Group commit: publishes that finish while another thread writes its "published" mark
    leave theirs to that thread, which writes them all in one more UPDATE before it returns."""
    sink = _Sink()
    monkeypatch.setenv("K_SINK", sink.url)
    services.reset()
    rows = [_add() for _ in range(4)]
    updates: list[tuple[str, object]] = []

    def count(_conn, _cursor, statement, parameters, _context, _many):
        if statement.startswith("UPDATE outbox SET published_at"):
            updates.append((statement, parameters))

    event.listen(get_engine(), "before_cursor_execute", count)
    writing, go_on = threading.Event(), threading.Event()
    real_scope = outbox.session_scope

    @contextmanager
    def held_first_write():
        if not writing.is_set():
            writing.set()
            assert go_on.wait(10)
        with real_scope() as session:
            yield session

    monkeypatch.setattr(outbox, "session_scope", held_first_write)
    first = threading.Thread(target=outbox.publish, args=(rows[0],))
    first.start()
    assert writing.wait(10)
    assert all(outbox.publish(row) for row in rows[1:])  # they return at once: the first thread writes
    assert not any(_published(row.id) for row in rows)
    go_on.set()
    first.join(10)
    sink.server.shutdown()
    assert all(_published(row.id) for row in rows)
    assert len(updates) == 2  # the first row's mark, then the three that came meanwhile
    assert outbox.relay_outbox() == 0


def test_a_mark_that_cannot_be_written_leaves_the_row_to_the_relay(env, monkeypatch):
    """The publish still succeeds; the row stays unpublished (and claimed), so the relay sends
    it again once the claim runs out; the next publish's mark is written as usual."""
    sink = _Sink()
    monkeypatch.setenv("K_SINK", sink.url)
    services.reset()
    failing, later = _add("com.example.failing"), _add("com.example.later")
    real_scope = outbox.session_scope

    @contextmanager
    def database_down():
        raise OperationalError("UPDATE outbox", {}, Exception("the database is down"))
        yield  # pragma: no cover

    monkeypatch.setattr(outbox, "session_scope", database_down)
    assert outbox.publish(failing)
    monkeypatch.setattr(outbox, "session_scope", real_scope)
    assert not _published(failing.id)
    assert outbox.publish(later) and _published(later.id)
    with session_scope() as session:
        session.get(outbox.OutboxEvent, failing.id).claimed_until = utcnow() - timedelta(seconds=1)
    assert outbox.relay_outbox() == 1
    sink.server.shutdown()
    assert [e.type for e in sink.events] == ["com.example.failing", "com.example.later", "com.example.failing"]
