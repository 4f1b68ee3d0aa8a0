"""IMAP: connect once per run, then browse mailboxes, list, fetch, flag, copy, move, delete and
draft mails on that session (see boardrun/engine/imap.py for the protocol side)."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from ... import imap, mail, netio
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
_IMAP_DATE = re.compile(r"^\d{1,2}-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-\d{4}\Z")

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


# -- Calendar events kept as mails in an IMAP folder ---------------------------------------
# An event is stored as a small MIME mail whose body is the iCalendar text and whose X-UID
# header carries the event UID, so it can be found again by UID (see docs/engine.md).

_CAL_FOLDER = inp("calendar_folder", "Calendar Folder", "String", default="Calendar")
_CAL_ERROR = out("error", "Error", "Execution", description="Runs when the calendar operation failed.")
_CAL_MESSAGE = out("error_message", "Error Message", "String")
_CALENDAR_HINTS = ("calendar", "cal", "events")


def _calendar_failure(ctx: NodeContext, message: str) -> None:
    """Flow-Like's calendar nodes report failures on Error + Error Message; unwired, the node fails."""
    if not ctx.targets("error"):
        raise NodeError(message)
    ctx.log("Error", message)
    ctx.set("error_message", message)
    ctx.activate("error")


def _date_input(ctx: NodeContext, pin: str, required: bool = True) -> Any:
    from datetime import datetime

    try:
        value = ctx.get(pin)
    except NodeError:
        if required:
            raise
        return None  # an optional date left empty, as Flow-Like reads it
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise NodeError(f"input '{pin}' must be a date string like 2026-12-01T10:00:00Z")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise NodeError(f"input '{pin}' must be an RFC 3339 date, got '{value}'") from None
    if parsed.tzinfo is None:
        raise NodeError(f"input '{pin}' needs a time zone offset (e.g. Z), got '{value}'")
    return parsed


def _ical_time(value: Any) -> str | None:
    """An iCalendar DTSTART/DTEND as text: RFC 3339 for UTC, 'local[Zone]' for zoned, plain otherwise."""
    from datetime import date, datetime, timezone

    if value is None:
        return None
    moment = value.dt
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            return moment.strftime("%Y-%m-%dT%H:%M:%S")
        zone = value.params.get("TZID")
        if zone:
            return f"{moment.strftime('%Y-%m-%dT%H:%M:%S')}[{zone}]"
        return moment.astimezone(timezone.utc).isoformat()
    if isinstance(moment, date):
        return moment.isoformat()
    return None


def _event_start(text: str | None) -> Any:
    from datetime import datetime, timezone

    if not text:
        return None
    base = text.split("[", 1)[0]
    try:
        moment = datetime.fromisoformat(base)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _events_of(ical: bytes | str) -> list[dict[str, Any]]:
    from icalendar import Calendar

    try:
        calendar = Calendar.from_ical(ical)
    except ValueError:
        return []
    events = []
    for component in calendar.walk("VEVENT"):
        attendees = component.get("ATTENDEE") or []
        if not isinstance(attendees, list):
            attendees = [attendees]
        status = component.get("STATUS")
        events.append({
            "uid": str(component.get("UID") or ""),
            "summary": _opt_text(component.get("SUMMARY")),
            "description": _opt_text(component.get("DESCRIPTION")),
            "location": _opt_text(component.get("LOCATION")),
            "start": _ical_time(component.get("DTSTART")),
            "end": _ical_time(component.get("DTEND")),
            "organizer": _opt_text(component.get("ORGANIZER")),
            "attendees": [str(a) for a in attendees],
            "status": str(status).upper() if status else None,
        })
    return events


def _opt_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _calendar_text(message: bytes) -> bytes:
    """The iCalendar part of a stored event mail (or the whole body when it is bare iCalendar)."""
    from email import message_from_bytes, policy

    parsed = message_from_bytes(message, policy=policy.default)
    for part in parsed.walk():
        if part.get_content_type() == "text/calendar":
            return part.get_payload(decode=True) or b""
    return parsed.get_payload(decode=True) or message


def _in_range(event: dict[str, Any], start: Any, end: Any) -> bool:
    if start is None or end is None:
        return True
    moment = _event_start(event["start"])
    return moment is not None and start <= moment <= end


@register("mail_imap_calendar_list", "IMAP List Calendars", "Email/IMAP/Calendar",
          "Lists the mailboxes and picks those that look like calendars (calendar, cal or events in the name).",
          [_EXEC_IN, _EXEC_OUT, _CONNECTION,
           out("names", "Mailbox Names", "String", "Array"),
           out("calendar_names", "Calendar Names", "String", "Array"),
           out("calendars", "Calendar Inboxes", "Struct", "Array")])
def mail_imap_calendar_list(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    connection, session = _connection(ctx)
    names = session.list(ctx)
    calendars = [n for n in names if any(hint in n.lower() for hint in _CALENDAR_HINTS)]
    ctx.set("names", names)
    ctx.set("calendar_names", calendars)
    ctx.set("calendars", [{"connection": connection, "name": n} for n in calendars])
    ctx.activate("exec_out")


@register("mail_imap_calendar_list_events", "List Calendar Events", "Email/IMAP/Calendar",
          "Reads every event stored in a calendar folder, optionally only those starting within a range.",
          [_EXEC_IN, _EXEC_OUT, _CONNECTION, _CAL_FOLDER,
           inp("start_date", "Start Date", "Date", description="With End Date: keep events starting in between."),
           inp("end_date", "End Date", "Date"),
           out("events", "Events", "Struct", "Array")])
def mail_imap_calendar_list_events(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    _connection_struct, session = _connection(ctx)
    folder = _mailbox(ctx, "calendar_folder")
    start, end = _date_input(ctx, "start_date", False), _date_input(ctx, "end_date", False)
    session.select(ctx, folder)
    data = session.command(ctx, "UID SEARCH", "uid", "SEARCH", "ALL")
    events = []
    for uid in (int(u) for chunk in data if isinstance(chunk, bytes) for u in chunk.split()):
        ctx.checkpoint()
        for event in _events_of(_calendar_text(session.fetch(ctx, folder, uid))):
            if _in_range(event, start, end):
                events.append(event)
    ctx.set("events", events)
    ctx.activate("exec_out")


def _find_event(ctx: NodeContext, session: imap.ImapSession, folder: str, event_uid: str) -> int | None:
    session.select(ctx, folder)
    data = session.command(ctx, "UID SEARCH", "uid", "SEARCH", "HEADER", "X-UID", imap._quote(event_uid))
    uids = [int(u) for chunk in data if isinstance(chunk, bytes) for u in chunk.split()]
    return uids[0] if uids else None


def _event_uid(ctx: NodeContext) -> str:
    value = as_str(ctx.get("event_uid"), "event_uid")
    if not value or any(c in value for c in '\r\n"\\'):
        raise NodeError("input 'event_uid' must be a non-empty UID without quotes or line breaks")
    return value


@register("mail_imap_calendar_get_event", "Get Calendar Event", "Email/IMAP/Calendar",
          "Finds one event of a calendar folder by its UID.",
          [_EXEC_IN, out("exec_out", "Success", "Execution"), _CAL_ERROR, _CONNECTION, _CAL_FOLDER,
           inp("event_uid", "Event UID", "String"),
           out("event", "Event", "Struct"), _CAL_MESSAGE])
def mail_imap_calendar_get_event(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    ctx.deactivate("error")
    _connection_struct, session = _connection(ctx)
    folder, event_uid = _mailbox(ctx, "calendar_folder"), _event_uid(ctx)
    try:
        uid = _find_event(ctx, session, folder, event_uid)
        found = [] if uid is None else [
            e for e in _events_of(_calendar_text(session.fetch(ctx, folder, uid))) if e["uid"] == event_uid]
    except NodeError as exc:
        _calendar_failure(ctx, str(exc))
        return
    if not found:
        _calendar_failure(ctx, f"no event with UID '{event_uid}' in '{folder}'")
        return
    ctx.set("event", found[0])
    ctx.activate("exec_out")


@register("mail_imap_calendar_create_event", "Create Calendar Event", "Email/IMAP/Calendar",
          "Stores a new event in a calendar folder and outputs its UID.",
          [_EXEC_IN, out("exec_out", "Success", "Execution"), _CAL_ERROR, _CONNECTION, _CAL_FOLDER,
           inp("summary", "Summary", "String"),
           inp("description", "Description", "String", default=""),
           inp("location", "Location", "String", default=""),
           inp("start", "Start", "Date"),
           inp("end", "End", "Date"),
           inp("attendees", "Attendees", "String", default="", description="Comma-separated e-mail addresses."),
           out("event_uid", "Event UID", "String"), _CAL_MESSAGE])
def mail_imap_calendar_create_event(ctx: NodeContext) -> None:
    import uuid
    from email import policy
    from email.message import EmailMessage

    from icalendar import Calendar, Event, vCalAddress

    ctx.deactivate("exec_out")
    ctx.deactivate("error")
    _connection_struct, session = _connection(ctx)
    folder = _mailbox(ctx, "calendar_folder")
    summary = as_str(ctx.get("summary"), "summary")
    description, location = as_str(ctx.get("description"), "description"), as_str(ctx.get("location"), "location")
    start, end = _date_input(ctx, "start"), _date_input(ctx, "end")
    if end < start:
        raise NodeError("input 'end' is before 'start'")
    attendees = mail.address_list(as_str(ctx.get("attendees"), "attendees"), "attendees")
    event_uid = str(uuid.uuid4())
    event = Event()
    event.add("uid", event_uid)
    event.add("summary", summary)
    event.add("dtstart", start)
    event.add("dtend", end)
    if description:
        event.add("description", description)
    if location:
        event.add("location", location)
    for address in attendees:
        event.add("attendee", vCalAddress(f"mailto:{address}"))
    calendar = Calendar()
    calendar.add("prodid", "-//Boardrun//engine//EN")
    calendar.add("version", "2.0")
    calendar.add_component(event)
    message = EmailMessage()
    try:
        message["Subject"] = summary
    except ValueError as exc:
        raise NodeError(f"input 'summary' is not a valid header value: {exc}") from None
    message["X-UID"] = event_uid
    message.set_content(calendar.to_ical(), maintype="text", subtype="calendar")
    try:
        session.command(ctx, f"APPEND to '{folder}'", "append", imap.encode_mailbox(folder), None, None,
                        message.as_bytes(policy=policy.SMTP))
    except NodeError as exc:
        _calendar_failure(ctx, str(exc))
        return
    ctx.set("event_uid", event_uid)
    ctx.activate("exec_out")


@register("mail_imap_calendar_delete_event", "Delete Calendar Event", "Email/IMAP/Calendar",
          "Deletes one event of a calendar folder by its UID.",
          [_EXEC_IN, out("exec_out", "Success", "Execution"), _CAL_ERROR, _CONNECTION, _CAL_FOLDER,
           inp("event_uid", "Event UID", "String"), _CAL_MESSAGE])
def mail_imap_calendar_delete_event(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    ctx.deactivate("error")
    _connection_struct, session = _connection(ctx)
    folder, event_uid = _mailbox(ctx, "calendar_folder"), _event_uid(ctx)
    try:
        uid = _find_event(ctx, session, folder, event_uid)
        if uid is not None:
            session.store(ctx, folder, uid, "+FLAGS.SILENT", "\\Deleted")
            session.expunge(ctx, folder, uid, "uid_expunge")
    except NodeError as exc:
        _calendar_failure(ctx, str(exc))
        return
    if uid is None:
        _calendar_failure(ctx, f"no event with UID '{event_uid}' in '{folder}'")
        return
    ctx.activate("exec_out")


@register("mail_imap_calendar_subscribe", "Subscribe to Calendar URL", "Email/IMAP/Calendar",
          "Downloads an iCalendar (.ics) URL over HTTP and outputs its events, optionally only those "
          "starting within a range.",
          [_EXEC_IN, out("exec_out", "Success", "Execution"), _CAL_ERROR,
           inp("url", "Calendar URL", "String", description="An http or https URL of an .ics file."),
           inp("start_date", "Start Date", "Date"),
           inp("end_date", "End Date", "Date"),
           out("events", "Events", "Struct", "Array"),
           out("calendar_name", "Calendar Name", "String", description="The calendar's X-WR-CALNAME, or 'Calendar'."),
           _CAL_MESSAGE],
          long_running=True)
def mail_imap_calendar_subscribe(ctx: NodeContext) -> None:
    from icalendar import Calendar

    from ... import http_egress

    ctx.deactivate("exec_out")
    ctx.deactivate("error")
    url = as_str(ctx.get("url"), "url")
    start, end = _date_input(ctx, "start_date", False), _date_input(ctx, "end_date", False)
    try:
        reply = http_egress.send(ctx.egress, "GET", url, {"Accept": "text/calendar"}, None)
    except NodeError as exc:
        _calendar_failure(ctx, str(exc))
        return
    if not 200 <= reply.status_code <= 299:
        _calendar_failure(ctx, f"HTTP error {reply.status_code} from the calendar URL")
        return
    try:
        name = Calendar.from_ical(reply.body).get("X-WR-CALNAME")
    except ValueError as exc:
        _calendar_failure(ctx, f"the calendar URL did not return iCalendar data: {exc}")
        return
    ctx.set("events", [e for e in _events_of(reply.body) if _in_range(e, start, end)])
    ctx.set("calendar_name", str(name) if name else "Calendar")
    ctx.activate("exec_out")
