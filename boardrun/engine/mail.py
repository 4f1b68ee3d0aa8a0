"""E-mail messages for the mail nodes: building outgoing ones, parsing fetched ones, and opening
SMTP/IMAP connections to the egress-checked address (stdlib smtplib/imaplib underneath).

The structs follow Flow-Like's shapes: MailAddress ``{name, email}``, Attachment
``{filename, content_type, data}`` (data as byte values) and Email (see :func:`parse_email`).
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

from .coerce import _kind
from .errors import NodeError
from .netio import byte_values

if TYPE_CHECKING:
    from email.message import EmailMessage

ENCRYPTIONS = ("Tls", "StartTls", "Plain")


def address_list(text: str, pin: str) -> list[str]:
    """The bare addresses in a comma-separated header value ('Ann <a@x.org>, b@y.org')."""
    import email.utils  # the email package is imported when a mail node runs, not with the engine

    found = []
    for _name, address in email.utils.getaddresses([text]):
        if address:
            if "@" not in address or any(c in address for c in "\r\n <>"):
                raise NodeError(f"input '{pin}' has an invalid address '{address}'")
            found.append(address)
    if text.strip() and not found:
        raise NodeError(f"input '{pin}' has no valid address in '{text}'")
    return found


def message_id(sender: str) -> str:
    domain = sender.rsplit("@", 1)[1] if "@" in sender else "boardrun.local"
    return f"<boardrun-{int(time.time())}-{uuid.uuid4().hex}@{domain.strip('<> ')}>"


def attachment_parts(value: Any, pin: str) -> list[tuple[str, str, bytes]]:
    """(filename, content type, data) of each Attachment struct on ``pin``."""
    if not isinstance(value, list):
        raise NodeError(f"input '{pin}' must be an array of attachments, got {_kind(value)}")
    parts = []
    for n, item in enumerate(value):
        if not isinstance(item, dict) or "data" not in item:
            if isinstance(item, dict) and "path" in item:
                raise NodeError(f"{pin}[{n}] is a storage path; this engine has no file storage, pass an "
                                "Attachment {filename, content_type, data} instead")
            raise NodeError(f"{pin}[{n}] must be an Attachment object with 'data' (byte values)")
        filename = item.get("filename") or f"attachment-{n + 1}"
        content_type = item.get("content_type") or "application/octet-stream"
        if not isinstance(filename, str) or not isinstance(content_type, str) or "/" not in content_type:
            raise NodeError(f"{pin}[{n}] needs a string filename and a 'type/subtype' content_type")
        parts.append((filename, content_type, byte_values(item["data"], f"{pin}[{n}].data")))
    return parts


def build_message(*, sender: str, to: str, cc: str, bcc_header: str, subject: str, text: str, html: str,
                  msg_id: str, attachments: list[tuple[str, str, bytes]]) -> EmailMessage:
    """A MIME message: plain text, plus an HTML alternative when given, plus attachments."""
    import email.utils
    from email.message import EmailMessage

    message = EmailMessage()
    try:
        for header, value in (("From", sender), ("To", to), ("Cc", cc), ("Bcc", bcc_header)):
            if value.strip():
                message[header] = value
        message["Subject"] = subject
        message["Message-ID"] = msg_id
        message["Date"] = email.utils.formatdate(localtime=False)
    except (ValueError, TypeError) as exc:  # line breaks in a header value (header injection)
        raise NodeError(f"invalid header value: {exc}") from None
    message.set_content(text)
    if html.strip():
        message.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message


def _addresses(message: Any, header: str) -> list[dict[str, Any]]:
    import email.utils

    values = message.get_all(header) or []
    return [{"name": name or None, "email": address} for name, address in email.utils.getaddresses(
        [str(v) for v in values]) if address or name]


def parse_email(raw: bytes, connection: dict[str, Any], inbox: dict[str, Any], uid: int) -> dict[str, Any]:
    """The Email struct of a fetched RFC 5322 message."""
    import email.utils
    from email import policy
    from email.parser import BytesParser

    message = BytesParser(policy=policy.default).parsebytes(raw)
    date = None
    if message["Date"]:
        try:
            date = email.utils.parsedate_to_datetime(str(message["Date"])).isoformat()
        except (TypeError, ValueError):
            date = None
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    attachments = []
    for part in message.iter_attachments():
        data = part.get_payload(decode=True) or b""
        attachments.append({"filename": part.get_filename(), "content_type": part.get_content_type(),
                            "data": list(data)})
    return {
        "connection": connection, "inbox": inbox, "uid": uid,
        "from": _addresses(message, "From"), "sender": _addresses(message, "Sender"),
        "to": _addresses(message, "To"), "cc": _addresses(message, "Cc"), "bcc": _addresses(message, "Bcc"),
        "subject": str(message["Subject"]) if message["Subject"] is not None else None,
        "date": date,
        "plain": plain.get_content() if plain is not None else None,
        "html": html.get_content() if html is not None else None,
        "attachments": attachments,
    }
