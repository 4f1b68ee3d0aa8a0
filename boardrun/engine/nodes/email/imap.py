"""IMAP: connect once per run, then browse mailboxes, list, fetch, flag, copy, move, delete and
draft mails on that session (see boardrun/engine/imap.py for the protocol side)."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from ... import imap, netio
from ...coerce import as_bool, as_str
from ...errors import NodeError
from ...registry import inp, out, register
from .smtp import connect_inputs, mail_inputs

if TYPE_CHECKING:
    from ...runtime import NodeContext

EXPUNGE_MODES = ["uid_expunge", "expunge", "none"]
FILTERS = ["ALL", "NEW", "UNSEEN", "SEEN", "SINCE", "BEFORE", "FROM", "TO", "SUBJECT", "BODY"]
# The filters that need a value, and the input the editor adds for it (as Flow-Like's editor does).
FILTER_INPUTS = {"SINCE": "since_date", "BEFORE": "before_date", "FROM": "from", "TO": "to", "SUBJECT": "subject",
                 "BODY": "body"}
_IMAP_DATE = re.compile(r"^\d{1,2}-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-\d{4}$")

_EXEC_IN = inp("exec_in", "In", "Execution")
_EXEC_OUT = out("exec_out", "Out", "Execution")
_CONNECTION = inp("connection", "Connection", "Struct", options=netio.ENFORCE_SCHEMA,
                  description="A connection from 'IMAP Connect'.")
_EMAIL = inp("email", "Email", "Struct", options=netio.ENFORCE_SCHEMA,
             description="An Email or an Email Reference.")
_DESTINATION = inp("destination", "Destination Mailbox", "String", default="Archive")
_CREATE = inp("create_if_missing", "Create If Missing", "Boolean", default=False)
_EXPUNGE = inp("expunge_mode", "Expunge Mode", "String", default="uid_expunge",
               options={"valid_values": EXPUNGE_MODES},
               description="uid_expunge removes only this mail, expunge every mail flagged deleted, none keeps it flagged.")


def _connection(ctx: NodeContext, pin: str = "connection") -> tuple[dict[str, Any], imap.ImapSession]:
    connection = netio.struct_input(ctx, pin, "an IMAP connection")
    return {"id": connection.get("id")}, imap.session_of(ctx, connection)


def _mailbox(ctx: NodeContext, pin: str) -> str:
    name = as_str(ctx.get(pin), pin)
    if not name or any(c in name for c in "\r\n\0"):
        raise NodeError(f"input '{pin}' must be a mailbox name without line breaks")
    return name


def _ref(ctx: NodeContext, pin: str) -> tuple[dict[str, Any], imap.ImapSession, str, int]:
    """(reference struct, session, mailbox, uid) of an Email or Email Reference input."""
    value = netio.struct_input(ctx, pin, "an Email or Email Reference")
    what = f"input '{pin}'"
    connection = netio.field(value, "connection", dict, what)
    inbox = netio.field(value, "inbox", dict, what)
    name = netio.field(inbox, "name", str, f"{what} inbox")
    uid = netio.field(value, "uid", int, what)
    if not 0 < uid < 2**32:
        raise NodeError(f"{what} has an invalid UID {uid}")
    session = imap.session_of(ctx, connection)
    return {"connection": {"id": connection.get("id")}, "inbox": {"connection": {"id": connection.get("id")},
                                                                  "name": name}, "uid": uid}, session, name, uid


def _expunge_mode(ctx: NodeContext) -> str:
    mode = as_str(ctx.get("expunge_mode"), "expunge_mode")
    if mode not in EXPUNGE_MODES:
        raise NodeError(f"input 'expunge_mode' must be one of {', '.join(EXPUNGE_MODES)}, got '{mode}'")
    return mode


@register("email_imap_connect", "IMAP Connect", "Email/IMAP",
          "Connects and logs in to an IMAP server and keeps the session for the other IMAP nodes; the same "
          "settings in one run reuse the session.",
          [_EXEC_IN,
           inp("host", "Host", "String", default="imap.example.com"),
           inp("port", "Port", "Integer", default=993, description="993 for Tls, 143 for StartTls and Plain."),
           inp("username", "Username", "String"),
           inp("password", "Password", "String", options={"sensitive": True}),
           inp("encryption", "Encryption", "String", default="Tls", options={"valid_values": ["Tls", "StartTls", "Plain"]},
               description="Certificates are verified for Tls and StartTls; Plain sends the password in the clear."),
           _EXEC_OUT,
           out("connection", "Connection", "Struct", description="{id} naming the session in this run.")])
def email_imap_connect(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    host, port, username, password, encryption = connect_inputs(ctx)
    settings = (host, port, username, password, encryption)  # reuse key: memory only, never on a pin
    ref_id = ctx.resources.find(imap.KIND, settings)
    if ref_id is None:
        session = imap.open_session(ctx, host, port, username, password, encryption)
        ref_id = ctx.resources.add(imap.KIND, session, imap.close, reuse_key=settings)
        ctx.log("Debug", f"IMAP session to {host}:{port} ({encryption}) opened")
    ctx.set("connection", {"id": ref_id})
    ctx.activate("exec_out")


@register("mail_imap_inbox", "IMAP Inbox", "Email/IMAP", "Names a mailbox on an IMAP connection (no server call).",
          [_EXEC_IN, _EXEC_OUT, _CONNECTION,
           inp("inbox", "Inbox", "String", default="INBOX"),
           out("inbox_struct", "Inbox Struct", "Struct", description="{connection, name}.")])
def mail_imap_inbox(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    connection, _session = _connection(ctx)
    ctx.set("inbox_struct", {"connection": connection, "name": _mailbox(ctx, "inbox")})
    ctx.activate("exec_out")


@register("mail_imap_list_inboxes", "IMAP List Inboxes", "Email/IMAP", "Lists every mailbox of the account.",
          [_EXEC_IN, _EXEC_OUT, _CONNECTION,
           out("names", "Mailbox Names", "String", "Array"),
           out("inboxes", "Inbox Structs", "Struct", "Array")])
def mail_imap_list_inboxes(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    connection, session = _connection(ctx)
    names = session.list(ctx)
    ctx.set("names", names)
    ctx.set("inboxes", [{"connection": connection, "name": name} for name in names])
    ctx.activate("exec_out")


@register("mail_imap_create_mailbox", "IMAP Create Mailbox (If Missing)", "Email/IMAP",
          "Creates a mailbox unless it already exists.",
          [_EXEC_IN, out("exec_out", "Success", "Execution"), _CONNECTION,
           inp("name", "Mailbox Name", "String", default="NewMailbox"),
           out("created", "Created", "Boolean", description="False when the mailbox was already there."),
           out("inbox_struct", "Inbox", "Struct")])
def mail_imap_create_mailbox(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    connection, session = _connection(ctx)
    name = _mailbox(ctx, "name")
    ctx.set("created", session.ensure(ctx, name))
    ctx.set("inbox_struct", {"connection": connection, "name": name})
    ctx.activate("exec_out")


def _search_criteria(ctx: NodeContext, session: imap.ImapSession) -> list[str]:
    criterion = as_str(ctx.get("filter"), "filter")
    if criterion not in FILTERS:
        raise NodeError(f"input 'filter' must be one of {', '.join(FILTERS)}, got '{criterion}'")
    pin = FILTER_INPUTS.get(criterion)
    if pin is None:
        return [criterion]
    if not ctx.has_input(pin):
        raise NodeError(f"filter {criterion} needs the '{pin}' input (the editor adds it when the filter is chosen)")
    value = as_str(ctx.get(pin), pin)
    if criterion in ("SINCE", "BEFORE"):
        if not _IMAP_DATE.match(value):
            raise NodeError(f"input '{pin}' must be a date like 01-Jan-2026, got '{value}'")
        return [criterion, value]
    if any(c in value for c in "\r\n\0"):
        raise NodeError(f"input '{pin}' may not contain line breaks")
    if value.isascii():
        return [criterion, imap._quote(value)]
    session.client.literal = value.encode("utf-8")  # imaplib sends it as a literal after the criteria
    return ["CHARSET", "UTF-8", criterion]


@register("mail_imap_list", "List Mails", "Email/IMAP",
          "Searches a mailbox and outputs a reference for every matching mail.",
          [_EXEC_IN, _EXEC_OUT,
           inp("inbox", "Inbox", "Struct", options=netio.ENFORCE_SCHEMA, description="From 'IMAP Inbox'."),
           inp("filter", "Filter", "String", default="NEW", options={"valid_values": FILTERS},
               description="SINCE/BEFORE/FROM/TO/SUBJECT/BODY read the matching input the editor adds."),
           out("emails", "Email References", "Struct", "Array")],
          extra_inputs=True)
def mail_imap_list(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    inbox = netio.struct_input(ctx, "inbox", "an Inbox")
    connection, session = _connection_of(ctx, inbox)
    name = netio.field(inbox, "name", str, "input 'inbox'")
    session.select(ctx, name)
    criteria = _search_criteria(ctx, session)
    data = session.command(ctx, "UID SEARCH", "uid", "SEARCH", *criteria)
    uids = [int(u) for chunk in data if isinstance(chunk, bytes) for u in chunk.split()]
    ctx.set("emails", [{"connection": connection, "inbox": {"connection": connection, "name": name}, "uid": uid}
                       for uid in uids])
    ctx.activate("exec_out")


def _connection_of(ctx: NodeContext, struct: dict[str, Any]) -> tuple[dict[str, Any], imap.ImapSession]:
    connection = netio.field(struct, "connection", dict, "input 'inbox'")
    return {"id": connection.get("id")}, imap.session_of(ctx, connection)


@register("email_imap_inbox_fetch_mail", "Fetch Mail", "Email/IMAP",
          "Fetches and parses one mail (without marking it seen).",
          [_EXEC_IN, _EXEC_OUT,
           inp("email_ref", "Email Reference", "Struct", description="From 'List Mails'."),
           out("email", "Email", "Struct",
               description="Addresses, subject, date, text and HTML bodies and attachments.")])
def email_imap_inbox_fetch_mail(ctx: NodeContext) -> None:
    from ... import mail

    ctx.deactivate("exec_out")
    ref, session, mailbox, uid = _ref(ctx, "email_ref")
    raw = session.fetch(ctx, mailbox, uid)
    ctx.set("email", mail.parse_email(raw, ref["connection"], ref["inbox"], uid))
    ctx.activate("exec_out")


@register("email_imap_mark_seen", "Mark Mail as Seen", "Email/IMAP", "Sets or clears the Seen flag of a mail.",
          [_EXEC_IN, _EMAIL,
           inp("mark_as_seen", "Mark as Seen", "Boolean", default=True, description="False marks it unseen."),
           out("email_ref", "Email Ref", "Struct"), _EXEC_OUT])
def email_imap_mark_seen(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    ref, session, mailbox, uid = _ref(ctx, "email")
    seen = as_bool(ctx.get("mark_as_seen"), "mark_as_seen")
    session.store(ctx, mailbox, uid, "+FLAGS.SILENT" if seen else "-FLAGS.SILENT", "\\Seen")
    ctx.set("email_ref", ref)
    ctx.activate("exec_out")


@register("email_imap_delete_message", "Delete Mail", "Email/IMAP",
          "Flags a mail as deleted and, depending on the mode, expunges it.",
          [_EXEC_IN, _EMAIL, _EXPUNGE, out("exec_out", "", "Execution")])
def email_imap_delete_message(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    _ref_struct, session, mailbox, uid = _ref(ctx, "email")
    mode = _expunge_mode(ctx)
    session.store(ctx, mailbox, uid, "+FLAGS.SILENT", "\\Deleted")
    session.expunge(ctx, mailbox, uid, mode)
    ctx.activate("exec_out")


def _destination(ctx: NodeContext, session: imap.ImapSession) -> str:
    destination = _mailbox(ctx, "destination")
    if as_bool(ctx.get("create_if_missing"), "create_if_missing") and session.ensure(ctx, destination):
        ctx.log("Debug", f"created mailbox '{destination}'")
    return destination


def _moved_ref(ref: dict[str, Any], destination: str, uid: int) -> dict[str, Any]:
    return {**ref, "inbox": {**ref["inbox"], "name": destination}, "uid": uid}


@register("email_imap_copy_message", "Copy Mail to Mailbox", "Email/IMAP",
          "Copies a mail to another mailbox; outputs the reference of the copy.",
          [_EXEC_IN, _EMAIL, _DESTINATION, _CREATE,
           out("new_message_ref", "New Message Ref", "Struct", description="The copy, with its UID in the destination."),
           _EXEC_OUT])
def email_imap_copy_message(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    ref, session, mailbox, uid = _ref(ctx, "email")
    destination = _destination(ctx, session)
    session.select(ctx, mailbox)
    header = _header_of(ctx, session, mailbox, uid)
    data = session.command(ctx, f"UID COPY to '{destination}'", "_simple_command", "UID", "COPY", str(uid),
                           imap.encode_mailbox(destination))
    ctx.set("new_message_ref", _moved_ref(ref, destination, session.copy_uid(ctx, data, destination, header)))
    ctx.activate("exec_out")


def _header_of(ctx: NodeContext, session: imap.ImapSession, mailbox: str, uid: int) -> bytes | None:
    """The Message-ID header line, to find the copy when the server reports no COPYUID."""
    if session.capable("UIDPLUS"):
        return None
    data = session.command(ctx, f"UID FETCH {uid}", "uid", "FETCH", str(uid),
                           "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    return next((item[1] for item in data if isinstance(item, tuple)), None)


@register("email_imap_move_message", "Move Mail to Mailbox", "Email/IMAP",
          "Moves a mail to another mailbox (MOVE, or copy then delete where MOVE is missing).",
          [_EXEC_IN, _EMAIL, _DESTINATION, _CREATE, _EXPUNGE,
           out("new_message_ref", "New Message Ref", "Struct", description="The mail in the destination, with its new UID."),
           _EXEC_OUT])
def email_imap_move_message(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    ref, session, mailbox, uid = _ref(ctx, "email")
    destination = _destination(ctx, session)
    mode = _expunge_mode(ctx)
    session.select(ctx, mailbox)
    header = _header_of(ctx, session, mailbox, uid)
    target = imap.encode_mailbox(destination)
    session.client.untagged_responses.pop("COPYUID", None)
    if session.capable("MOVE"):
        data = session.command(ctx, f"UID MOVE to '{destination}'", "_simple_command", "UID", "MOVE", str(uid), target)
    else:
        data = session.command(ctx, f"UID COPY to '{destination}'", "_simple_command", "UID", "COPY", str(uid), target)
        session.store(ctx, mailbox, uid, "+FLAGS.SILENT", "\\Deleted")
        session.expunge(ctx, mailbox, uid, mode)
    ctx.set("new_message_ref", _moved_ref(ref, destination, session.copy_uid(ctx, data, destination, header)))
    ctx.activate("exec_out")


@register("email_imap_create_draft", "Create Draft", "Email/IMAP",
          "Stores a new mail, flagged as a draft, in a mailbox; outputs its Message-ID.",
          [_EXEC_IN, _CONNECTION,
           inp("mailbox", "Drafts Mailbox", "String", default="Drafts"),
           inp("create_if_missing", "Create If Missing", "Boolean", default=True),
           inp("from", "From", "String"),
           inp("to", "To", "String"),
           inp("cc", "Cc", "String", default=""),
           inp("bcc", "Bcc", "String", default=""),
           inp("subject", "Subject", "String", default="(no subject)"),
           inp("body_text", "Body (text)", "String", default=""),
           inp("body_html", "Body (HTML)", "String", default=""),
           inp("attachments", "Attachments", "Struct", "Array", default=[], options=netio.ENFORCE_SCHEMA,
               description="Attachment structs {filename, content_type, data}."),
           inp("mark_seen", "Mark as Seen", "Boolean", default=False),
           _EXEC_OUT, out("message_id", "Message-ID", "String")])
def email_imap_create_draft(ctx: NodeContext) -> None:
    import imaplib
    from email import policy

    ctx.deactivate("exec_out")
    _connection_struct, session = _connection(ctx)
    mailbox = _mailbox(ctx, "mailbox")
    _sender, _recipients, message, msg_id = mail_inputs(ctx, bcc_header=True)  # a draft keeps its Bcc
    if as_bool(ctx.get("create_if_missing"), "create_if_missing") and session.ensure(ctx, mailbox):
        ctx.log("Debug", f"created mailbox '{mailbox}'")
    flags = "(\\Draft \\Seen)" if as_bool(ctx.get("mark_seen"), "mark_seen") else "(\\Draft)"
    session.command(ctx, f"APPEND to '{mailbox}'", "append", imap.encode_mailbox(mailbox), flags,
                    imaplib.Time2Internaldate(time.time()), message.as_bytes(policy=policy.SMTP))
    ctx.set("message_id", msg_id)
    ctx.activate("exec_out")
