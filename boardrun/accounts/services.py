"""Registration with e-mail verification, sign-in with throttling, and refresh-token
rotation with reuse detection.

Password hashing (argon2, deliberately slow) never runs inside a transaction: on SQLite
a transaction holds the process-wide writer lock (boardrun.db.session_scope), so a
hash inside one stalled every other request. Each flow hashes or verifies between two
short transactions.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, case, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from boardrun import mail
from boardrun.accounts.models import EmailVerification, LoginThrottle, RefreshToken, User
from boardrun.accounts.tokens import issue_access_token
from boardrun.config import get_settings
from boardrun.db import session_scope, utcnow
from boardrun.errors import BadRequest, Conflict, Forbidden, NotFound, TooManyRequests, Unauthorized
from boardrun.ids import new_id

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the e-mail is unknown, so both paths cost the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))

BAD_CREDENTIALS = "invalid email or password"
RESEND_INTERVAL = timedelta(seconds=60)  # at most one verification mail a minute per account


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


# --- password policy (NIST SP 800-63B 5.1.1.2) -------------------------------------------


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of the most common passwords (lower-cased)."""
    text = Path(__file__).with_name("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None. Never repeats the password."""
    if not password.strip():
        return "must not be only whitespace"
    if password.strip().lower() in common_passwords():
        return "is one of the most commonly used passwords; choose another"
    return None


# --- registration and e-mail verification -----------------------------------------------


def register(*, email: str, password: str, name: str | None, username: str | None) -> None:
    """Create the account and mail its verification token. A taken address creates
    nothing and gets a notice instead (no token), so both paths do the same work and the
    caller answers exactly as for a new account (no enumeration, by content or timing)."""
    email = normalise_email(email)
    password_hash = hash_password(password)  # before the transaction, and paid on both paths
    with session_scope() as session:
        if session.scalar(select(User.id).where(User.email == email)) is not None:
            token = None
        else:
            token = _create_account(session, email, password_hash, name, username)
    mail.send(verification_mail(email, token) if token else already_registered_mail(email))


def _create_account(session: Session, email: str, password_hash: str, name: str | None, username: str | None) -> str | None:
    """The new user, its default profile and verification token; None if the address was
    taken concurrently."""
    from boardrun.users.services import create_default_profile

    if username and session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict("that username is taken", code="username_taken")
    user = User(id=new_id("usr"), email=email, password_hash=password_hash, name=name, username=username)
    session.add(user)
    try:
        session.flush()
    except IntegrityError:  # a concurrent registration of the same e-mail or username
        session.rollback()
        return None
    create_default_profile(session, user)
    return _issue_verification(session, user.id)


def _issue_verification(session: Session, user_id: str) -> str:
    """A new single-use token for the user's address; any older one stops working."""
    session.execute(delete(EmailVerification).where(EmailVerification.user_id == user_id))
    token = secrets.token_urlsafe(32)
    session.add(
        EmailVerification(
            id=new_id("evf"),
            user_id=user_id,
            token_hash=_digest(token),
            expires_at=utcnow() + timedelta(seconds=get_settings().auth.email_verification_ttl),
        )
    )
    return token


def verification_mail(email: str, token: str) -> mail.Mail:
    settings = get_settings()
    hours = max(1, settings.auth.email_verification_ttl // 3600)
    how = (
        f"Open this link to confirm it:\n\n  {settings.auth.email_verification_url}#token={token}\n\nor send"
        if settings.auth.email_verification_url
        else "Confirm it by sending"
    )
    how += f' the token below to {settings.server.public_url}/api/v1/auth/verify-email as {{"token": "..."}}.\n\n'
    how += f"Verification token: {token}\n"
    return mail.Mail(
        to=email,
        subject="Confirm your e-mail address",
        body=(
            f"Someone registered a Boardrun account at {settings.server.public_url} with this address.\n\n{how}\n"
            f"It works once, for {hours} hour(s). If you did not register, ignore this message: the account "
            "stays unverified and no sign-in provider can be linked to it.\n"
        ),
    )


def already_registered_mail(email: str) -> mail.Mail:
    url = get_settings().server.public_url
    return mail.Mail(
        to=email,
        subject="Someone tried to register this address again",
        body=(
            f"Someone tried to register a Boardrun account at {url} with this address, which has an account "
            "already, so nothing was changed. If it was you, sign in instead. If not, ignore this message.\n"
        ),
    )


def verify_email(token: str) -> None:
    """Spend a verification token and mark its account's address verified."""
    now = utcnow()
    with session_scope() as session:
        row = session.scalar(select(EmailVerification).where(EmailVerification.token_hash == _digest(token)))
        # Atomic claim: of two concurrent uses only one deletes the row.
        claimed = row is not None and session.execute(
            delete(EmailVerification).where(EmailVerification.id == row.id)
        ).rowcount == 1
        if row is None or not claimed or row.expires_at <= now:
            raise BadRequest(
                "unknown, used or expired verification token; ask for a new one", code="invalid_verification_token"
            )
        session.execute(update(User).where(User.id == row.user_id).values(email_verified=True, updated_at=now))


def resend_verification(user_id: str) -> bool:
    """Mail a fresh token to the user's address. False when it is verified already."""
    now = utcnow()
    with session_scope() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("this account no longer exists", code="user_not_found")
        if user.email_verified:
            return False
        last = session.scalar(
            select(EmailVerification.created_at).where(EmailVerification.user_id == user_id)
        )
        if last is not None and now - last < RESEND_INTERVAL:
            raise TooManyRequests(
                "a verification mail was sent less than a minute ago",
                retry_after=int((last + RESEND_INTERVAL - now).total_seconds()) + 1,
            )
        email, token = user.email, _issue_verification(session, user_id)
    mail.send(verification_mail(email, token))
    return True


# --- sign-in throttle ----------------------------------------------------------------------


def client_key(address: str | None) -> str:
    """The part of a client address an attacker cannot cheaply vary: an IPv6 client
    holds a whole /64, so that is what counts."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _throttle_keys(email: str, client: str) -> list[tuple[str, int]]:
    """(key, ceiling) pairs: one address from one client, and one address from anywhere.
    The second ceiling is larger, so one client cannot lock an address for everyone."""
    settings = get_settings()
    return [
        (_digest(f"login:{email}\x00{client_key(client)}"), settings.auth.login_max_failures),
        (_digest("login:" + email), settings.auth.login_max_failures_per_address),
    ]


def _count_attempt(session: Session, key: str, now: datetime) -> tuple[int, datetime]:
    """Add one attempt to the key's window in one atomic statement (an upsert), starting
    a new window when the old one is over. Returns (attempts in the window, its start)."""
    table = LoginThrottle.__table__
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    at = bindparam("now", now, type_=table.c.window_start.type)
    cutoff = bindparam("cutoff", now - timedelta(seconds=get_settings().auth.login_window_seconds), type_=table.c.window_start.type)
    expired = table.c.window_start <= cutoff
    stmt = (
        insert(table)
        .values(key=key, failures=1, window_start=at)
        .on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "failures": case((expired, 1), else_=table.c.failures + 1),
                "window_start": case((expired, at), else_=table.c.window_start),
            },
        )
        .returning(table.c.failures, table.c.window_start)
    )
    failures, window_start = session.execute(stmt).one()
    return failures, window_start


HOUSEKEEPING_BATCH = 10


def _forget_ended_windows(session: Session, cutoff: datetime) -> None:
    """Delete a few rows whose window has ended. Attempts at random addresses each leave a
    row; deleting several per attempt keeps the table to the windows still open. Rows
    another transaction holds are skipped (PostgreSQL), and one revived meanwhile by a new
    attempt is kept (the outer condition is checked again on the locked row)."""
    stale = (
        select(LoginThrottle.key)
        .where(LoginThrottle.window_start <= cutoff)
        .limit(HOUSEKEEPING_BATCH)
        .with_for_update(skip_locked=True)
    )
    session.execute(
        delete(LoginThrottle).where(LoginThrottle.key.in_(stale.scalar_subquery()), LoginThrottle.window_start <= cutoff)
    )


def _reserve_attempts(email: str, client: str) -> list[str]:
    """Count this attempt against every key before the password is checked, so a burst
    in parallel cannot check more passwords than the ceiling allows. 429 once a key is
    over its ceiling."""
    now = utcnow()
    window = timedelta(seconds=get_settings().auth.login_window_seconds)
    keys = _throttle_keys(email, client)
    with session_scope() as session:  # its own transaction: it holds no lock the counting waits on
        _forget_ended_windows(session, now - window)
    with session_scope() as session:
        for key, ceiling in keys:
            attempts, window_start = _count_attempt(session, key, now)
            if attempts > ceiling:
                session.commit()  # the count stands although this request fails
                raise TooManyRequests(
                    "too many failed sign-ins; try again later",
                    retry_after=int((window_start + window - now).total_seconds()) + 1,
                )
    return [key for key, _ in keys]


def _release_attempts(session: Session, keys: list[str]) -> None:
    """After a successful sign-in: this client starts afresh, and the address-wide
    count no longer holds the successful attempt."""
    pair, address = keys
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == pair))
    session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == address, LoginThrottle.failures > 0)
        .values(failures=LoginThrottle.failures - 1)
    )


def login(*, email: str, password: str, client: str) -> dict:
    email = normalise_email(email)
    keys = _reserve_attempts(email, client)
    with session_scope() as session:
        row = session.execute(select(User.id, User.password_hash, User.status).where(User.email == email)).first()
    stored = row.password_hash if row is not None and row.password_hash else None
    ok = _verify_password(stored or _DUMMY_HASH, password) and stored is not None
    if not ok:  # the attempt stays counted
        raise Unauthorized(BAD_CREDENTIALS, error="invalid_grant")
    assert row is not None and stored is not None
    if row.status != "active":
        raise Forbidden("this account is disabled", code="account_disabled")
    rehashed = hash_password(password) if _hasher.check_needs_rehash(stored) else None
    with session_scope() as session:
        _release_attempts(session, keys)
        if rehashed:  # unless the password was changed meanwhile
            session.execute(
                update(User).where(User.id == row.id, User.password_hash == stored).values(password_hash=rehashed)
            )
        return issue_tokens(session, row.id)


def issue_tokens(session: Session, user_id: str, family_id: str | None = None) -> dict:
    secret = secrets.token_urlsafe(32)
    token_id = new_id("rt")
    session.add(
        RefreshToken(
            id=token_id,
            family_id=family_id or new_id("fam"),
            user_id=user_id,
            token_hash=_digest(secret),
            expires_at=utcnow() + timedelta(seconds=get_settings().auth.refresh_token_ttl),
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
