"""Outgoing mail (address verification, invitations) through one small interface.

`get_mailer()` builds it from the settings: an SMTP server when SMTP_HOST is set;
otherwise, in embedded mode, the log (a self-hosted instance without a mail server
still works: the operator reads the verification link in the log, which is the point);
in production without SMTP_HOST, nothing is sent and only the fact is logged, never the
message, because messages carry single-use secrets.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from boardrun.config import MailSettings, get_settings

log = logging.getLogger("boardrun.mail")


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


class MailError(RuntimeError):
    """The message could not be handed to the mail server."""


class Mailer(Protocol):
    def send(self, mail: Mail) -> None: ...


class LogMailer:
    """Embedded mode without SMTP: the whole message goes to the log."""

    def send(self, mail: Mail) -> None:
        log.warning("mail to %s (no SMTP_HOST configured, so it is logged instead): %s\n%s", mail.to, mail.subject, mail.body)


class DisabledMailer:
    """Production without SMTP: the message is dropped, and only that is logged."""

    def send(self, mail: Mail) -> None:
        log.warning("no SMTP_HOST is configured: the mail %r to a user was not sent", mail.subject)


class SmtpMailer:
    def __init__(self, settings: MailSettings):
        assert settings.smtp_host
        self.host, self.port = settings.smtp_host, settings.smtp_port
        self.username, self.password = settings.username, settings.password
        self.sender, self.starttls, self.timeout = settings.sender, settings.starttls, settings.timeout

    def send(self, mail: Mail) -> None:
        message = EmailMessage()
        # A subject built from user text (an app's name) must stay one header line.
        message["From"], message["To"], message["Subject"] = self.sender, mail.to, " ".join(mail.subject.split())
        message.set_content(mail.body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(f"the mail server {self.host}:{self.port} did not take the message: {exc}") from None


def get_mailer() -> Mailer:
    settings = get_settings()
    if settings.auth.mail.smtp_host:
        return SmtpMailer(settings.auth.mail)
    return DisabledMailer() if settings.production else LogMailer()


def send(mail: Mail) -> bool:
    """Send, logging (not raising) a failure: callers have already committed their work,
    and the user can ask for the message again. True when the message was handed over."""
    try:
        get_mailer().send(mail)
        return True
    except MailError as exc:
        log.error("%s", exc)
        return False


__all__ = ["DisabledMailer", "LogMailer", "Mail", "MailError", "Mailer", "SmtpMailer", "get_mailer", "send"]
