"""The transactional outbox: an event is written in the same transaction as the state it
announces, published right after the commit, and republished by the relay if that fails.

The writer claims its row (`add`) and publishes it itself after the commit (`publish`);
the relay (`relay_outbox`, the embedded tick and the `outbox-relay` PingSource) takes
only rows nobody holds, so the two never both send one. Rows published at the same
time are marked so in one write (`_PublishedMarks`).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, bindparam, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from boardrun.db import Base, insert_object, session_scope, utcnow
from boardrun.eventing.cloudevents_adapter import Event
from boardrun.eventing.publisher import PublishError, get_publisher

log = logging.getLogger(__name__)

CLAIM_SECONDS = 30


class OutboxEvent(Base):
    """An event written in the same transaction as the state it announces, published
    to the broker afterwards (at once, or later by the relay)."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(256))
    subject: Mapped[str | None] = mapped_column(String(256))
    data: Mapped[Any] = mapped_column(JSON)
    extensions: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    claimed_until: Mapped[datetime | None]  # a publisher holds the row until then
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


def add(session: Session, event: Event) -> OutboxEvent:
    """The outbox row of `event`, in the caller's transaction, claimed by the writer: it
    publishes right after the commit (`publish`), and the relay takes the row only if
    that fails or the claim runs out."""
    now = utcnow()
    row = OutboxEvent(
        event_id=event.id,
        type=event.type,
        source=event.source,
        subject=event.subject,
        data=event.data,
        extensions=event.extensions,
        created_at=now,
        claimed_until=now + timedelta(seconds=CLAIM_SECONDS),
        attempts=1,
    )
    insert_object(session, row)  # assigns row.id
    return row


def publish(row: OutboxEvent) -> bool:
    """Publish a row its writer added (after the commit); False: left to the relay."""
    return _send(row.id, _event_of(row))


def _event_of(row: OutboxEvent) -> Event:
    return Event(
        type=row.type,
        source=row.source,
        data=row.data,
        id=row.event_id,
        time=row.created_at.isoformat(),
        subject=row.subject,
        extensions=dict(row.extensions or {}),
    )


def _claim(session: Session, row_id: int) -> bool:
    """Take a row for publishing, so the immediate path and the relay never both send it."""
    now = utcnow()
    return bool(
        session.execute(
            update(OutboxEvent)
            .where(
                OutboxEvent.id == row_id,
                OutboxEvent.published_at.is_(None),
                or_(OutboxEvent.claimed_until.is_(None), OutboxEvent.claimed_until < now),
            )
            .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS), attempts=OutboxEvent.attempts + 1)
        ).rowcount
    )


def _send(row_id: int, event: Event) -> bool:
    """Publish a row we hold the claim of; on failure release it for the relay."""
    try:
        get_publisher().publish(event)
    except PublishError as exc:
        log.warning("event %s (%s) not published yet: %s", event.id, event.type, exc)
        with session_scope() as session:
            session.execute(
                update(OutboxEvent).where(OutboxEvent.id == row_id).values(claimed_until=None, last_error=str(exc)[:1000])
            )
        return False
    _marks.add(row_id)
    return True


# Core, built once: the one write every publish waits for.
_MARK_PUBLISHED = (
    update(OutboxEvent.__table__)
    .where(OutboxEvent.__table__.c.id.in_(bindparam("ids", expanding=True)))
    .values(published_at=bindparam("now", type_=OutboxEvent.__table__.c.published_at.type), last_error=None)
)


class _PublishedMarks:
    """Group commit of the "published" marks: the thread that finds no write in progress
    writes every mark waiting, then those that came meanwhile, until none is left; the
    others only leave theirs. A burst of submits shares one UPDATE instead of a
    transaction each, and a lone publish is still marked before it returns. A mark that
    cannot be written leaves its row claimed: the relay sends it again when the claim runs
    out, which consumers take as the duplicate it is."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: list[int] = []
        self._writing = False

    def add(self, row_id: int) -> None:
        with self._lock:
            self._waiting.append(row_id)
            if self._writing:
                return
            self._writing = True
        while True:
            with self._lock:
                ids, self._waiting = self._waiting, []
                if not ids:
                    self._writing = False
                    return
            try:
                with session_scope() as session:
                    session.connection().execute(_MARK_PUBLISHED, {"ids": ids, "now": utcnow()})
            except Exception:  # the ones waiting now go with the next publish's write
                log.exception("cannot mark %d published outbox row(s); the relay sends them again", len(ids))
                with self._lock:
                    self._writing = False
                return


_marks = _PublishedMarks()


def _publish_row(row_id: int) -> bool:
    with session_scope() as session:
        if not _claim(session, row_id):
            return False
        row = session.get(OutboxEvent, row_id)
        assert row is not None
        event = _event_of(row)
    return _send(row_id, event)


def relay_outbox(limit: int = 200) -> int:
    """The periodic repair of a failed publish: send what is left in the outbox, oldest
    first; returns how many went out."""
    with session_scope() as session:
        ids = session.scalars(
            select(OutboxEvent.id).where(OutboxEvent.published_at.is_(None)).order_by(OutboxEvent.id).limit(limit)
        ).all()
    sent = 0
    for row_id in ids:
        if _publish_row(row_id):
            sent += 1
        else:
            break  # the broker is down (or another relay holds the row): the next tick goes on
    return sent
