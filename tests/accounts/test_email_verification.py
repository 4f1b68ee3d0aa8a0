"""E-mail verification of password accounts: the token mailed at registration (to the
log in embedded mode, or through a real SMTP server), single use, expiring, stored
hashed; resending; the user record says whether the address is verified."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from sqlalchemy import select, update

from boardrun import services
from boardrun.accounts.models import EmailVerification
from boardrun.db import session_scope, utcnow
from tests.conftest import free_port, mailed_token

PASSWORD = "correct horse 1"


def _register(api, email="ada@example.com"):
    return api.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})


def _sign_in(api, email="ada@example.com") -> dict:
    r = api.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.get_data(as_text=True)
    return {"Authorization": f"Bearer {r.get_json()['access_token']}"}


def _verified(api, headers) -> bool:
    return api.get("/api/v1/user", headers=headers).get_json()["email_verified"]


def test_registration_mails_a_token_that_verifies_the_address_once(api, caplog):
    """The new account is unverified; the mailed token verifies it; the same token then fails."""
    assert _register(api).status_code == 201
    headers = _sign_in(api)
    assert _verified(api, headers) is False
    token = mailed_token(caplog, "ada@example.com")
    r = api.post("/api/v1/auth/verify-email", json={"token": token})
    assert r.status_code == 200 and r.get_json() == {"status": "verified"}
    assert _verified(api, headers) is True
    again = api.post("/api/v1/auth/verify-email", json={"token": token})
    assert again.status_code == 400 and again.get_json()["error"]["code"] == "invalid_verification_token"


def test_only_a_hash_of_the_token_is_stored(api, caplog):
    """The database holds the token's sha256, never the token itself."""
    _register(api)
    token = mailed_token(caplog, "ada@example.com")
    with session_scope() as s:
        stored = s.scalar(select(EmailVerification.token_hash))
    assert stored == hashlib.sha256(token.encode()).hexdigest() and token not in stored


def test_an_expired_or_made_up_token_is_refused(api, caplog, monkeypatch):
    """A token past EMAIL_VERIFICATION_TTL_SECONDS, or one never issued, is a 400 and verifies nothing."""
    monkeypatch.setenv("EMAIL_VERIFICATION_TTL_SECONDS", "0")
    services.reset()
    _register(api)
    token = mailed_token(caplog, "ada@example.com")
    assert api.post("/api/v1/auth/verify-email", json={"token": token}).status_code == 400
    assert api.post("/api/v1/auth/verify-email", json={"token": "made-up"}).status_code == 400
    assert _verified(api, _sign_in(api)) is False


def test_registering_a_taken_address_mails_a_notice_without_a_token(api, caplog):
    """A second registration of the same address mails the owner a notice (so both paths send one mail) that carries no token, and changes nothing."""
    _register(api)
    token = mailed_token(caplog, "ada@example.com")
    caplog.clear()
    assert _register(api, "ADA@example.com").status_code == 201
    [notice] = [r.getMessage() for r in caplog.records if r.name == "boardrun.mail"]
    assert "ada@example.com" in notice and "account already" in notice and "token" not in notice.lower()
    assert api.post("/api/v1/auth/verify-email", json={"token": token}).status_code == 200


def test_resend_replaces_the_token_and_is_limited(api, caplog):
    """Resend mails a new token (the old one stops working), refuses a second within a minute, and says when there is nothing to do."""
    _register(api)
    first = mailed_token(caplog, "ada@example.com")
    headers = _sign_in(api)
    with session_scope() as s:  # as if the first mail were older than the minute
        s.execute(update(EmailVerification).values(created_at=utcnow() - timedelta(minutes=2)))
    r = api.post("/api/v1/auth/verify-email/resend", headers=headers)
    assert r.status_code == 202 and r.get_json() == {"status": "sent"}
    second = mailed_token(caplog, "ada@example.com")
    assert second != first
    limited = api.post("/api/v1/auth/verify-email/resend", headers=headers)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert api.post("/api/v1/auth/verify-email", json={"token": first}).status_code == 400
    assert api.post("/api/v1/auth/verify-email", json={"token": second}).status_code == 200
    done = api.post("/api/v1/auth/verify-email/resend", headers=headers)
    assert done.status_code == 200 and done.get_json() == {"status": "already_verified"}


def test_resend_needs_a_token(api):
    """Resending is for the signed-in owner of the account only."""
    assert api.post("/api/v1/auth/verify-email/resend").status_code == 401


def test_production_without_smtp_never_logs_the_token(api, caplog, monkeypatch):
    """In production with no SMTP_HOST the mail is dropped: the log says so but holds no token."""
    monkeypatch.setenv("BOARDRUN_ENV", "production")
    monkeypatch.setenv("AUTH_SIGNING_KEY", "unused here")
    services.reset()
    caplog.set_level(logging.DEBUG)
    assert _register(api).status_code == 201
    with session_scope() as s:
        assert s.scalar(select(EmailVerification.id)) is not None
    lines = [r.getMessage() for r in caplog.records if r.name == "boardrun.mail"]
    assert lines and all("Verification token" not in line and "SMTP_HOST" in line for line in lines)


def test_verification_mail_goes_through_a_real_smtp_server(api, smtp_server, monkeypatch):
    """With SMTP_* set, the mail is delivered by SMTP (with login) from SMTP_FROM, and its token verifies the address."""
    controller, inbox, logins = smtp_server
    for name, value in {
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(controller.port), "SMTP_USERNAME": "mailer",
        "SMTP_PASSWORD": "mail-secret", "SMTP_FROM": "accounts@boardrun.example", "SMTP_STARTTLS": "false",
        "EMAIL_VERIFICATION_URL": "https://app.example/verify",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    services.reset()
    assert _register(api).status_code == 201
    assert inbox.arrived.wait(10)
    sender, recipients, content = inbox.messages[0]
    assert (sender, recipients) == ("accounts@boardrun.example", ["ada@example.com"])
    assert logins == [(b"mailer", b"mail-secret")]
    token = content.split("Verification token: ", 1)[1].split()[0]
    assert f"https://app.example/verify#token={token}" in content
    assert api.post("/api/v1/auth/verify-email", json={"token": token}).status_code == 200


def test_an_unreachable_smtp_server_does_not_fail_registration(api, monkeypatch, caplog):
    """If the mail server cannot be reached the account is still created (the owner can resend), and the error is logged."""
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(free_port()))
    monkeypatch.setenv("SMTP_STARTTLS", "false")
    services.reset()
    assert _register(api).status_code == 201
    assert _sign_in(api)
    assert any(r.name == "boardrun.mail" and r.levelno == logging.ERROR for r in caplog.records)
