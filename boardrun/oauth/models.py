from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from boardrun.db import Base, utcnow


class OAuthState(Base):
    """One started sign-in: kept server-side so any instance can finish it; deleted when
    used (single use) and refused after `expires_at`."""

    __tablename__ = "oauth_states"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the `state` value
    provider: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[str | None] = mapped_column(String(128))  # OpenID Connect only
    code_verifier: Mapped[str] = mapped_column(String(128))  # PKCE
    expires_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OAuthIdentity(Base):
    """A provider account (provider + its subject id) linked to one of our users."""

    __tablename__ = "oauth_identities"
    __table_args__ = (UniqueConstraint("provider", "subject"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime] = mapped_column(default=utcnow)
