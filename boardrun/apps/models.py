from __future__ import annotations

from datetime import datetime
from sqlalchemy import JSON, BigInteger, ForeignKey, ForeignKeyConstraint, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from boardrun.db import Base, utcnow


class App(Base):
    __tablename__ = "apps"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="Active")  # Active | Inactive | Archived
    visibility: Mapped[str] = mapped_column(String(16), default="Private", index=True)  # Private | Public
    primary_category: Mapped[str | None] = mapped_column(String(32))
    secondary_category: Mapped[str | None] = mapped_column(String(32))
    changelog: Mapped[str | None] = mapped_column(Text)
    version: Mapped[str | None] = mapped_column(String(32))
    execution_mode: Mapped[str] = mapped_column(String(16), default="Any")
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Role(Base):
    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("app_id", "name"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    permissions: Mapped[int] = mapped_column(BigInteger)
    attributes: Mapped[list[str]] = mapped_column(JSON, default=list)


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("app_id", "user_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role_id: Mapped[str] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"))
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)


class Invitation(Base):
    """An invitation to join an app, addressed to an e-mail address (whether or not it
    has an account yet). Only the owner of that address, once verified, sees it and
    accepts (becoming a member with `role_id`) or declines it."""

    __tablename__ = "invitations"
    __table_args__ = (UniqueConstraint("app_id", "email"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320), index=True)  # stored lower-cased
    role_id: Mapped[str] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"))
    invited_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class Board(Base):
    """Index row of a board; the document itself is in storage (`storage_key`)."""

    __tablename__ = "boards"

    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=1)  # bumped on every save (ETag)
    size_bytes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class BoardVersion(Base):
    """An immutable frozen copy of a board."""

    __tablename__ = "board_versions"
    __table_args__ = (
        UniqueConstraint("app_id", "board_id", "major", "minor", "patch"),
        ForeignKeyConstraint(["app_id", "board_id"], ["boards.app_id", "boards.id"], ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app_id: Mapped[str] = mapped_column(String(64))
    board_id: Mapped[str] = mapped_column(String(128))
    major: Mapped[int] = mapped_column(Integer)
    minor: Mapped[int] = mapped_column(Integer)
    patch: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def label(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

