from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from boardrun.db import Base, utcnow


class ProfileFields:
    """What a profile is, shared by users' profiles and the templates they copy."""

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    icon: Mapped[str | None] = mapped_column(String(2048))
    thumbnail: Mapped[str | None] = mapped_column(String(2048))
    interests: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    theme: Mapped[Any] = mapped_column(JSON, nullable=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Profile(ProfileFields, Base):
    """A user's profile (a user owns several), shaped like Flow-Like's."""

    __tablename__ = "profiles"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class ProfileTemplate(ProfileFields, Base):
    """A profile a new user can copy (GET /api/v1/info/profiles); seeded by a migration."""

    __tablename__ = "profile_templates"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
