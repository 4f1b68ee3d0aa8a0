from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from boardrun.db import Base, utcnow


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lower-cased
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    password_hash: Mapped[str | None] = mapped_column(String(255))  # None: signs in through OAuth only
    name: Mapped[str | None] = mapped_column(String(200))
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    avatar: Mapped[str | None] = mapped_column(String(2048))
    accepted_terms_version: Mapped[str | None] = mapped_column(String(32))
    tutorial_completed: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | inactive | banned
    tier: Mapped[str] = mapped_column(String(16), default="free")
    permission: Mapped[int] = mapped_column(BigInteger, default=0)  # global permission bits
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RefreshToken(Base):
    """One issued refresh token. Tokens rotate: each use marks the token used and issues
    the next one in the same family; presenting a used token revokes the whole family."""

    __tablename__ = "refresh_tokens"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    family_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the secret
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EmailVerification(Base):
    """An outstanding e-mail verification: only the sha256 of the token is kept; the row
    is deleted when the token is used (single use) and refused after `expires_at`."""

    __tablename__ = "email_verifications"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the token
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginThrottle(Base):
    """Sign-in attempts per key within a window. A key is the hash of either an e-mail
    address and a client address together, or of an e-mail address alone (the larger,
    per-address ceiling)."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # attempts counted in the window
    window_start: Mapped[datetime] = mapped_column(index=True)  # housekeeping finds ended windows by it


Index("ix_refresh_tokens_family_revoked", RefreshToken.family_id, RefreshToken.revoked_at)
