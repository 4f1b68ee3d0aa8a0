"""Registration, sign-in with throttling, and refresh-token rotation with reuse detection."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from boardrun.accounts.models import LoginThrottle, RefreshToken, User
from boardrun.accounts.tokens import issue_access_token
from boardrun.config import get_settings
from boardrun.db import utcnow
from boardrun.errors import Conflict, Forbidden, TooManyRequests, Unauthorized
from boardrun.ids import new_id

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the e-mail is unknown, so both paths cost the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
BAD_CREDENTIALS = "invalid email or password"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def register(session: Session, *, email: str, password: str, name: str | None, username: str | None) -> User | None:
    """Create the account. Returns None (and creates nothing) when the e-mail is taken,
    so the caller can answer exactly as for a new account and reveal nothing."""
    from boardrun.users.services import create_default_profile

    email = normalise_email(email)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        _hasher.hash(password)  # same work as a real registration
        return None
    if username and session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict("that username is taken", code="username_taken")
    user = User(id=new_id("usr"), email=email, password_hash=hash_password(password), name=name, username=username)
    session.add(user)
    try:
        session.flush()
    except IntegrityError:  # a concurrent registration of the same e-mail or username
        session.rollback()
        return None
    create_default_profile(session, user)
    return user


def _throttle_key(email: str) -> str:
    return _digest("login:" + email)


def _check_throttle(session: Session, key: str) -> None:
    row = session.get(LoginThrottle, key)
    now = utcnow()
    if row is not None and row.locked_until is not None and row.locked_until > now:
        raise TooManyRequests(
            "too many failed sign-ins; try again later",
            retry_after=int((row.locked_until - now).total_seconds()) + 1,
        )


def _record_failure(session: Session, key: str) -> None:
    settings = get_settings()
    now = utcnow()
    window = timedelta(seconds=settings.login_window_seconds)
    row = session.get(LoginThrottle, key)
    if row is None:
        row = LoginThrottle(key=key, failures=0, window_start=now)
        session.add(row)
    if now - row.window_start > window:
        row.failures, row.window_start, row.locked_until = 0, now, None
    row.failures += 1
    if row.failures >= settings.login_max_failures:
        row.locked_until = now + window


def login(session: Session, *, email: str, password: str) -> dict:
    email = normalise_email(email)
    key = _throttle_key(email)
    _check_throttle(session, key)
    user = session.scalar(select(User).where(User.email == email))
    try:
        _hasher.verify(user.password_hash if user and user.password_hash else _DUMMY_HASH, password)
        ok = user is not None and user.password_hash is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        _record_failure(session, key)
        session.commit()  # the failure must count although this request fails
        raise Unauthorized(BAD_CREDENTIALS, error="invalid_grant")
    assert user is not None
    if user.status != "active":
        raise Forbidden("this account is disabled", code="account_disabled")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    row = session.get(LoginThrottle, key)
    if row is not None:
        session.delete(row)
    return issue_tokens(session, user.id)


def issue_tokens(session: Session, user_id: str, family_id: str | None = None) -> dict:
    secret = secrets.token_urlsafe(32)
    token_id = new_id("rt")
    session.add(
        RefreshToken(
            id=token_id,
            family_id=family_id or new_id("fam"),
            user_id=user_id,
            token_hash=_digest(secret),
            expires_at=utcnow() + timedelta(seconds=get_settings().refresh_token_ttl),
        )
    )
    access, ttl = issue_access_token(user_id)
    return {"access_token": access, "refresh_token": secret, "token_type": "Bearer", "expires_in": ttl}


def refresh(session: Session, *, refresh_token: str) -> dict:
    """Rotate: the presented token is spent and a new one issued in its family. A spent
    token presented again means it leaked: the whole family is revoked."""
    now = utcnow()
    row = session.scalar(select(RefreshToken).where(RefreshToken.token_hash == _digest(refresh_token)))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise Unauthorized("invalid or expired refresh token", error="invalid_grant")
    # Atomic claim: of two concurrent uses only one sees used_at still empty.
    claimed = session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None))
        .values(used_at=now)
    ).rowcount
    if not claimed:
        session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == row.family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        session.commit()  # the revocation must stand although this request fails
        raise Unauthorized("refresh token reuse detected; every session of this sign-in is revoked", error="invalid_grant")
    user = session.get(User, row.user_id)
    if user is None or user.status != "active":
        raise Unauthorized("invalid or expired refresh token", error="invalid_grant")
    return issue_tokens(session, row.user_id, family_id=row.family_id)
