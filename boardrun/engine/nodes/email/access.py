"""Pure accessors for the structs the IMAP nodes produce (Email, MailAddress, Attachment)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ... import netio
from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


def _email_in(pin: str = "email", friendly: str = "Email") -> Any:
    return inp(pin, friendly, "Struct", options=netio.ENFORCE_SCHEMA, description="An Email from 'Fetch Mail'.")


def _list(struct: dict[str, Any], key: str) -> list[Any]:
    value = struct.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise NodeError(f"field '{key}' must be an array")
    return value


def _text(struct: dict[str, Any], key: str, what: str) -> str | None:
    value = struct.get(key)
    if value is not None and not isinstance(value, str):
        raise NodeError(f"{what} field '{key}' must be a string")
    return value


@register("email_get_headers", "Email → Headers", "Email/Access", "The address headers of an Email.",
          [_email_in(),
           out("from", "From", "Struct", description="The first From address, or null."),
           out("sender", "Sender", "Struct", "Array"),
           out("to", "To", "Struct", "Array"),
           out("cc", "Cc", "Struct", "Array"),
           out("bcc", "Bcc", "Struct", "Array")])
def email_get_headers(ctx: NodeContext) -> None:
    email = netio.struct_input(ctx, "email", "an Email")
    senders = _list(email, "from")
    ctx.set("from", senders[0] if senders else None)
    for key in ("sender", "to", "cc", "bcc"):
        ctx.set(key, _list(email, key))


@register("email_get_content", "Email → Content", "Email/Access", "Subject, date and the text and HTML bodies of an Email.",
          [_email_in(),
           out("subject", "Subject", "String"),
           out("date", "Date", "String", description="RFC 3339 date, or null."),
           out("plain", "Plain", "String"),
           out("html", "HTML", "String")])
def email_get_content(ctx: NodeContext) -> None:
    email = netio.struct_input(ctx, "email", "an Email")
    for key in ("subject", "date", "plain", "html"):
        ctx.set(key, _text(email, key, "Email"))


@register("email_get_attachments", "Email → Attachments", "Email/Access", "The attachments of an Email.",
          [_email_in(), out("attachments", "Attachments", "Struct", "Array")])
def email_get_attachments(ctx: NodeContext) -> None:
    ctx.set("attachments", _list(netio.struct_input(ctx, "email", "an Email"), "attachments"))


@register("mail_address_fields", "MailAddress → Fields", "Email/Access", "Display name and address of a MailAddress.",
          [inp("address", "Address", "Struct", options=netio.ENFORCE_SCHEMA),
           out("name", "Name", "String", description="Null when the address has no display name."),
           out("email", "Email", "String")])
def mail_address_fields(ctx: NodeContext) -> None:
    address = netio.struct_input(ctx, "address", "a MailAddress")
    ctx.set("name", _text(address, "name", "MailAddress"))
    ctx.set("email", netio.field(address, "email", str, "MailAddress"))


@register("attachment_fields", "Attachment → Fields", "Email/Access", "File name, content type and bytes of an Attachment.",
          [inp("attachment", "Attachment", "Struct", options=netio.ENFORCE_SCHEMA),
           out("filename", "Filename", "String"),
           out("content_type", "Content Type", "String"),
           out("data", "Data", "Byte", "Array")])
def attachment_fields(ctx: NodeContext) -> None:
    attachment = netio.struct_input(ctx, "attachment", "an Attachment")
    ctx.set("filename", _text(attachment, "filename", "Attachment"))
    ctx.set("content_type", netio.field(attachment, "content_type", str, "Attachment"))
    ctx.set("data", list(netio.byte_values(attachment.get("data"), "Attachment field 'data'")))


@register("mail_imap_inbox_mail_to_reference", "Mail → Reference", "Email/Access",
          "The reference (connection, mailbox, UID) of a fetched Email, for the IMAP nodes.",
          [_email_in("mail", "Mail"), out("reference", "Reference", "Struct")])
def mail_imap_inbox_mail_to_reference(ctx: NodeContext) -> None:
    mail = netio.struct_input(ctx, "mail", "an Email")
    for key, kind in (("connection", dict), ("inbox", dict), ("uid", int)):
        netio.field(mail, key, kind, "Email")
    ctx.set("reference", {"connection": mail["connection"], "inbox": mail["inbox"], "uid": mail["uid"]})
