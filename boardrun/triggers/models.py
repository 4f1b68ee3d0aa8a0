from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from boardrun.db import Base, utcnow


class AppEvent(Base):
    """An event of an app (Flow-Like's `Event` + its sink): what starts which board, and how."""

    __tablename__ = "app_events"
    __table_args__ = (
        # An HTTP sink's path is unique per app (NULL for other types: never in conflict).
        UniqueConstraint("app_id", "http_path"),
        Index("ix_app_events_type_active", "event_type", "active"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    event_type: Mapped[str] = mapped_column(String(16))  # http | cron | cloudevent
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    board_id: Mapped[str] = mapped_column(String(128))
    board_version: Mapped[str | None] = mapped_column(String(32))  # None: the latest version
    node_id: Mapped[str | None] = mapped_column(String(128))  # None: the board's single start node
    variables: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The event's public config; secrets are kept apart and never rendered.
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    notes: Mapped[str | None] = mapped_column(Text)
    http_path: Mapped[str | None] = mapped_column(String(256))
    auth_token_hash: Mapped[str | None] = mapped_column(String(64))  # SHA-256 of the bearer token
    webhook_secret: Mapped[str | None] = mapped_column(String(512))  # HMAC key: needed in clear to verify
    # The newest cron slot a job was started for: a cache that spares the tick re-loading the
    # board; the job's idempotency key is what makes a slot fire once.
    cron_last_slot: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    revision: Mapped[int] = mapped_column(Integer, default=1)
