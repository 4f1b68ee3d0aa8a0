from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, Session, mapped_column

from boardrun.db import Base, utcnow


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("created_by", "idempotency_key"),
        Index("ix_jobs_status_created", "status", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    board_id: Mapped[str] = mapped_column(String(128))
    version: Mapped[str] = mapped_column(String(32))  # resolved: "1.2.0" or "draft"
    node_id: Mapped[str] = mapped_column(String(128))
    mode: Mapped[str] = mapped_column(String(8))  # async | sync
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    spec_key: Mapped[str] = mapped_column(String(512))  # storage key of the executor's job spec
    deadline_seconds: Mapped[int] = mapped_column(Integer)
    # What started the job when it was not a direct submit: {"kind": "http"|"cron"|..., "event_id", ...}
    trigger: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    event_id: Mapped[str | None] = mapped_column(String(64), index=True)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    result: Mapped[Any] = mapped_column(JSON, nullable=True)  # small results inline
    result_ref: Mapped[str | None] = mapped_column(String(512))  # large results in storage
    steps: Mapped[int | None] = mapped_column(Integer)
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    launched_at: Mapped[datetime | None]
    cancel_requested_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def locked_job(session: Session, job_id: str) -> Job | None:
    """The job row, locked (SELECT … FOR UPDATE) until the transaction ends: every status
    write holds it, so a report and a repair never interleave."""
    return session.get(Job, job_id, with_for_update=True, populate_existing=True)


class ProcessedEvent(Base):
    """Events a consumer has acted on, by CloudEvents source + id (deduplication)."""

    __tablename__ = "processed_events"

    source: Mapped[str] = mapped_column(String(256), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    type: Mapped[str] = mapped_column(String(128))
    processed_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeadLetter(Base):
    """Events the broker gave up delivering, kept for operators."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(128))
    type: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(256))
    job_id: Mapped[str | None] = mapped_column(String(64), index=True)
    error_code: Mapped[str | None] = mapped_column(String(16))
    destination: Mapped[str | None] = mapped_column(String(512))
    data: Mapped[Any] = mapped_column(JSON, nullable=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobEvent(Base):
    """One stream event of a running job (log line, progress, toast, chat update), numbered by
    the executor from 1; GET /jobs/{id}/events serves them in order."""

    __tablename__ = "job_events"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    data: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
