"""IMAP nodes against a real Dovecot server started by the test (plain auth on 127.0.0.1, Maildir)."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

import pytest

from boardrun.engine import EgressPolicy, RunLimits
from engine_testkit import BoardBuilder

LOCAL = EgressPolicy(allow_private=True)
USER, PASSWORD = "ann", "imap-Secret-42"
DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)

pytestmark = pytest.mark.skipif(DOVECOT is None, reason="Dovecot is not installed (apt-get install dovecot-imapd)")


class Dovecot:
    """A throwaway Dovecot: its own config, state and Maildir under a temp dir, in the foreground."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="boardrun-dovecot-"))
        self.root.chmod(0o755)  # the mail processes run as the mail user and must reach the Maildir
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        account = pwd.getpwnam("dovecot") if os.getuid() == 0 else pwd.getpwuid(os.getuid())
        self.uid, self.gid, internal = account.pw_uid, account.pw_gid, account.pw_name
        self.maildir = self.root / "mail" / USER
        (self.root / "mail").mkdir()
        os.chown(self.root / "mail", self.uid, self.gid)
        self.reset()
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        config = self.root / "dovecot.conf"
        config.write_text(f"""
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_internal_group = {internal}
default_login_user = {internal}
mail_location = maildir:{self.root}/mail/%u
first_valid_uid = {min(self.uid, 1)}
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = {self.root}/passwd
}}
userdb {{
  driver = static
  args = uid={self.uid} gid={self.gid} home={self.root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
""")
        self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(config)], stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    output = self.process.stdout.read().decode() if self.process.stdout else ""
                    log = (self.root / "dovecot.log").read_text() if (self.root / "dovecot.log").exists() else ""
                    self.stop()
                    raise RuntimeError(f"Dovecot did not start: {output} {log}")
                time.sleep(0.05)  # waiting for a foreign process to open its port: nothing to await

    def reset(self) -> None:
        """An empty INBOX and no other mailboxes (between tests; no session is open then)."""
        shutil.rmtree(self.maildir, ignore_errors=True)
        for path in (self.maildir, *(self.maildir / sub for sub in ("cur", "new", "tmp"))):
            path.mkdir()
            os.chown(path, self.uid, self.gid)

    def deliver(self, subject: str, body: str = "hello", sender: str = "Bob <bob@example.org>",
                attachment: bytes | None = None, seen: bool = False) -> str:
        """Drop one message into the INBOX Maildir, as a local delivery agent would."""
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = sender, f"{USER}@example.org", subject
        message["Date"] = "Tue, 01 Dec 2026 10:00:00 +0000"
        message["Message-ID"] = f"<{uuid.uuid4().hex}@example.org>"
        message.set_content(body)
        message.add_alternative(f"<p>{body}</p>", subtype="html")
        if attachment is not None:
            message.add_attachment(attachment, maintype="application", subtype="octet-stream", filename="data.bin")
        name = f"{time.time_ns()}.{uuid.uuid4().hex}.boardrun"
        target = self.maildir / ("cur" if seen else "new") / (name + (":2,S" if seen else ""))
        target.write_bytes(message.as_bytes())
        os.chown(target, self.uid, self.gid)
        return message["Message-ID"]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def dovecot_server():
    server = Dovecot()
    yield server
    server.stop()


@pytest.fixture
def dovecot(dovecot_server):
    dovecot_server.reset()
    return dovecot_server


class Flow:
    """Builds a board: start -> IMAP Connect -> the given chain of nodes -> return one output."""

    def __init__(self, server: Dovecot, password: str = PASSWORD, **connect) -> None:
        self.b = BoardBuilder()
        self.start = self.b.add("events_simple")
        self.connect = self.b.add("email_imap_connect", host="127.0.0.1", port=server.port, username=USER,
                                  password=password, encryption="Plain", **connect)
        self.b.connect(self.start, "exec_out", self.connect, "exec_in")
        self.last = self.connect

    def then(self, node_type: str, wire: dict[str, tuple[str, str]] | None = None, /, **defaults) -> str:
        node = self.b.add(node_type, **defaults)
        self.b.connect(self.last, "exec_out", node, "exec_in")
        for pin, (src, src_pin) in (wire or {}).items():
            self.b.connect(src, src_pin, node, pin)
        self.last = node
        return node

    def inbox(self, name: str = "INBOX") -> str:
        return self.then("mail_imap_inbox", {"connection": (self.connect, "connection")}, inbox=name)

    def run(self, node: str, pin: str, **kwargs):
        ret = self.b.add("events_generic_return_result")
        self.b.connect(self.last, "exec_out", ret, "exec_in")
        self.b.connect(node, pin, ret, "response")
        return self.b.run(self.start, egress=LOCAL, limits=RunLimits(deadline_seconds=60), **kwargs)


def listing(server: Dovecot, criterion: str = "ALL", mailbox: str = "INBOX", **extra):
    flow = Flow(server)
    inbox = flow.inbox(mailbox)
    node = flow.then("mail_imap_list", {"inbox": (inbox, "inbox_struct")}, filter=criterion)
    for pin, value in extra.items():
        flow.b.add_pin(node, pin, "Input", "String", default=value)
    return flow.run(node, "emails")


def test_list_and_fetch_parse_the_whole_mail(dovecot):
    """List Mails finds the delivered mail and Fetch Mail parses addresses, bodies and the attachment."""
    dovecot.deliver("Grüße", body="Hallo Ann", attachment=bytes(range(256)))
    flow = Flow(dovecot)
    inbox = flow.inbox()
    listed = flow.then("mail_imap_list", {"inbox": (inbox, "inbox_struct")}, filter="ALL")
    get = flow.b.add("array_get", index=0)
    flow.b.connect(listed, "emails", get, "array_in")
    fetch = flow.then("email_imap_inbox_fetch_mail", {"email_ref": (get, "element")})
    result = flow.run(fetch, "email")
    assert result.status == "completed", result.error
    email = result.result
    assert email["subject"] == "Grüße" and email["from"] == [{"name": "Bob", "email": "bob@example.org"}]
    assert email["to"] == [{"name": None, "email": f"{USER}@example.org"}]
    assert email["plain"].strip() == "Hallo Ann" and email["html"].strip() == "<p>Hallo Ann</p>"
    assert email["date"] == "2026-12-01T10:00:00+00:00"
    (attachment,) = email["attachments"]
    assert (attachment["filename"], attachment["data"]) == ("data.bin", list(range(256)))
    assert email["inbox"]["name"] == "INBOX" and email["uid"] >= 1


@pytest.mark.parametrize("criterion, extra, expected", [
    ("ALL", {}, ["one", "two", "three"]),
    ("UNSEEN", {}, ["one", "two"]),
    ("SEEN", {}, ["three"]),
    ("SUBJECT", {"subject": "tw"}, ["two"]),
    ("FROM", {"from": "carl@example.org"}, ["three"]),
    ("BODY", {"body": "Grüß"}, ["one"]),
    ("SINCE", {"since_date": "01-Jan-2000"}, ["one", "two", "three"]),
])
def test_list_filters(dovecot, criterion, extra, expected):
    """Each filter selects the matching mails (values from the inputs the editor adds, UTF-8 included)."""
    dovecot.deliver("one", body="Grüße")
    dovecot.deliver("two")
    dovecot.deliver("three", sender="carl@example.org", seen=True)
    result = listing(dovecot, criterion, **extra)
    assert result.status == "completed", result.error
    assert subjects(dovecot, [ref["uid"] for ref in result.result]) == sorted(expected)


def peek(server: Dovecot, mailbox: str = "INBOX") -> dict[int, tuple[str, str]]:
    """UID -> (subject, flags) of every mail in a mailbox, read with a separate stdlib IMAP client."""
    import email
    import imaplib
    import re

    with imaplib.IMAP4("127.0.0.1", server.port, timeout=10) as client:
        client.login(USER, PASSWORD)
        client.select(f'"{mailbox}"')
        _typ, data = client.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        found = {}
        for item in data:
            if isinstance(item, tuple):
                uid = int(re.search(rb"UID (\d+)", item[0]).group(1))
                flags = re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).decode()
                found[uid] = (str(email.message_from_bytes(item[1])["Subject"]), flags)
        return found


def subjects(server: Dovecot, uids: list[int], mailbox: str = "INBOX") -> list[str]:
    mails = peek(server, mailbox)
    return sorted(mails[uid][0] for uid in uids)


def first_ref(flow: Flow, criterion: str = "ALL") -> str:
    """Nodes listing the INBOX and picking the first reference; returns the array_get node id."""
    inbox = flow.inbox()
    listed = flow.then("mail_imap_list", {"inbox": (inbox, "inbox_struct")}, filter=criterion)
    get = flow.b.add("array_get", index=0)
    flow.b.connect(listed, "emails", get, "array_in")
    return get


def on_connection(server: Dovecot, node_name: str, output: str, **defaults):
    """Run one node that takes the IMAP connection and return one of its outputs."""
    flow = Flow(server)
    node = flow.then(node_name, {"connection": (flow.connect, "connection")}, **defaults)
    return flow.run(node, output)


def test_create_and_list_mailboxes_with_non_ascii_names(dovecot):
    """Create Mailbox creates once (Created is false the second time); List Inboxes shows UTF-8 names."""
    name = "Entwürfe & \"Co\""
    assert on_connection(dovecot, "mail_imap_create_mailbox", "created", name=name).result is True
    assert on_connection(dovecot, "mail_imap_create_mailbox", "created", name=name).result is False
    assert set(on_connection(dovecot, "mail_imap_list_inboxes", "names").result) == {"INBOX", name}
    inboxes = on_connection(dovecot, "mail_imap_list_inboxes", "inboxes").result
    assert {i["name"] for i in inboxes} == {"INBOX", name} and all(i["connection"]["id"] for i in inboxes)


def ref_action(server: Dovecot, node_name: str, output: str | None, **defaults):
    """List the INBOX, take the first mail and run ``node_name`` on it; returns the run result."""
    flow = Flow(server)
    get = first_ref(flow)
    node = flow.then(node_name, {"email": (get, "element")}, **defaults)
    if output is None:
        ret = flow.b.add("events_generic_return_result", response="done")
        flow.b.connect(node, "exec_out", ret, "exec_in")
        return flow.b.run(flow.start, egress=LOCAL)
    return flow.run(node, output)


def test_mark_seen_sets_and_clears_the_flag(dovecot):
    """Mark Mail as Seen adds \\Seen, and with Mark as Seen false removes it again."""
    dovecot.deliver("flag me")
    result = ref_action(dovecot, "email_imap_mark_seen", "email_ref")
    assert result.status == "completed", result.error
    (uid,) = peek(dovecot)
    assert "\\Seen" in peek(dovecot)[uid][1] and result.result["uid"] == uid
    ref_action(dovecot, "email_imap_mark_seen", "email_ref", mark_as_seen=False)
    assert "\\Seen" not in peek(dovecot)[uid][1]


@pytest.mark.parametrize("mode, remaining", [("uid_expunge", 1), ("expunge", 1), ("none", 2)])
def test_delete_modes(dovecot, mode, remaining):
    """uid_expunge and expunge remove the mail; none leaves it flagged \\Deleted."""
    dovecot.deliver("delete me")
    dovecot.deliver("keep me")
    first = min(peek(dovecot))
    assert ref_action(dovecot, "email_imap_delete_message", None, expunge_mode=mode).status == "completed"
    mails = peek(dovecot)
    assert len(mails) == remaining
    if mode == "none":
        assert "\\Deleted" in mails[first][1]
    else:
        assert first not in mails


@pytest.mark.parametrize("node_name, left_in_inbox", [("email_imap_copy_message", 1), ("email_imap_move_message", 0)])
def test_copy_and_move_report_the_new_uid(dovecot, node_name, left_in_inbox):
    """Copy and Move create the destination on request and output the mail's UID in the destination."""
    dovecot.deliver("archive me")
    result = ref_action(dovecot, node_name, "new_message_ref", destination="Archive/2026", create_if_missing=True)
    assert result.status == "completed", result.error
    ref = result.result
    archived = peek(dovecot, "Archive/2026")
    assert ref["inbox"]["name"] == "Archive/2026" and archived[ref["uid"]][0] == "archive me"
    assert len(peek(dovecot)) == left_in_inbox


def test_copy_to_a_missing_mailbox_fails_without_create(dovecot):
    """Without Create If Missing, copying to a mailbox that does not exist fails the node."""
    dovecot.deliver("x")
    result = ref_action(dovecot, "email_imap_copy_message", "new_message_ref", destination="Nowhere")
    assert result.error["node_name"] == "email_imap_copy_message" and "UID COPY" in result.error["message"]


def test_create_draft_appends_a_flagged_draft(dovecot):
    """Create Draft stores the mail in Drafts (created on demand) flagged \\Draft, keeping its Bcc."""
    result = on_connection(dovecot, "email_imap_create_draft", "message_id", **{
        "from": "ann@example.org", "to": "bob@example.org", "bcc": "eve@example.org", "subject": "Entwurf",
        "body_text": "later", "mark_seen": True})
    assert result.status == "completed", result.error
    (draft,) = peek(dovecot, "Drafts").values()
    assert draft[0] == "Entwurf" and "\\Draft" in draft[1] and "\\Seen" in draft[1]
    assert result.result.startswith("<boardrun-") and result.result.endswith("@example.org>")


def test_wrong_password_fails_without_revealing_it(dovecot):
    """A refused login fails IMAP Connect; neither the error nor a log line contains the password."""
    events = []
    flow = Flow(dovecot, password="not-" + PASSWORD)
    result = flow.run(flow.connect, "connection", on_event=events.append)
    assert (result.reason, result.error["node_name"]) == ("node_error", "email_imap_connect")
    assert "AUTHENTICATIONFAILED" in result.error["message"] or "failed" in result.error["message"].lower()
    assert PASSWORD not in repr(events) + repr(result)


def test_connect_is_reused_and_loopback_needs_allow_private(dovecot):
    """Two connects with the same settings share one session; the default policy refuses loopback."""
    flow = Flow(dovecot)
    flow.then("email_imap_connect", host="127.0.0.1", port=dovecot.port, username=USER, password=PASSWORD,
              encryption="Plain")
    events = []
    result = flow.run(flow.last, "connection", on_event=events.append)
    assert result.result["id"].startswith("imap_")
    assert sum("session to" in (e.message or "") for e in events) == 1
    flow = Flow(dovecot)
    assert "egress refused" in flow.b.run(flow.start).error["message"]


def test_starttls_without_server_support_fails(dovecot):
    """StartTls against a server that offers no STARTTLS fails instead of logging in unencrypted."""
    flow = Flow(dovecot)
    flow.b.set_default(flow.connect, "encryption", "StartTls")
    result = flow.run(flow.connect, "connection")
    assert result.error["node_name"] == "email_imap_connect" and "TLS not supported" in result.error["message"]


@pytest.mark.parametrize("criterion, extra, message", [
    ("SINCE", {}, "needs the 'since_date' input"),
    ("SINCE", {"since_date": "2026-01-01"}, "must be a date like"),
    ("SUBJECT", {"subject": "a\r\nb"}, "line breaks"),
    ("RECENTISH", {}, "must be one of"),
])
def test_bad_list_filters_fail(dovecot, criterion, extra, message):
    """Filters needing a value fail without it or with a malformed one; unknown filters fail."""
    result = listing(dovecot, criterion, **extra)
    assert result.error["node_name"] == "mail_imap_list" and message in result.error["message"]


def test_bad_references_fail(dovecot):
    """A reference without an open connection, a bad UID or a missing mail fails clearly."""
    dovecot.deliver("x")
    for ref, message in [
        ({"connection": {"id": "imap_gone"}, "inbox": {"name": "INBOX"}, "uid": 1}, "no open imap connection"),
        ({"connection": {"id": "imap_gone"}, "inbox": {"name": "INBOX"}, "uid": 0}, "invalid UID"),
        ({"inbox": {"name": "INBOX"}, "uid": 1}, "needs a 'connection'"),
    ]:
        flow = Flow(dovecot)
        node = flow.then("email_imap_inbox_fetch_mail", email_ref=ref)
        result = flow.run(node, "email")
        assert message in result.error["message"]
    flow = Flow(dovecot)
    get = first_ref(flow)
    set_uid = flow.then("struct_set", {"struct_in": (get, "element")}, field="uid", value=999)
    fetch = flow.then("email_imap_inbox_fetch_mail", {"email_ref": (set_uid, "struct_out")})
    assert "no message with UID 999" in flow.run(fetch, "email").error["message"]


def test_messages_over_the_size_cap_are_refused(dovecot):
    """Fetch Mail refuses a mail larger than the policy's response cap before downloading it."""
    dovecot.deliver("big", attachment=b"x" * 50_000)
    flow = Flow(dovecot)
    get = first_ref(flow)
    fetch = flow.then("email_imap_inbox_fetch_mail", {"email_ref": (get, "element")})
    ret = flow.b.add("events_generic_return_result")
    flow.b.connect(fetch, "exec_out", ret, "exec_in")
    result = flow.b.run(flow.start, egress=EgressPolicy(allow_private=True, max_response_bytes=10_000))
    assert result.error["node_name"] == "email_imap_inbox_fetch_mail" and "limit" in result.error["message"]


ICS = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//EN\r
X-WR-CALNAME:Team\r
BEGIN:VEVENT\r
UID:early@example.org\r
SUMMARY:Early\r
DTSTART:20261201T090000Z\r
DTEND:20261201T100000Z\r
STATUS:CONFIRMED\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:late@example.org\r
SUMMARY:Late\r
DTSTART;TZID=Europe/Berlin:20261215T180000\r
DTEND;TZID=Europe/Berlin:20261215T190000\r
END:VEVENT\r
END:VCALENDAR\r
"""


def calendar_flow(server: Dovecot, node_name: str, output: str | None, error_branch: bool = False, **defaults):
    """Create the Calendar folder, run one calendar node; Success returns ``output`` ("ok" when None)."""
    flow = Flow(server)
    flow.then("mail_imap_create_mailbox", {"connection": (flow.connect, "connection")}, name="Calendar")
    node = flow.then(node_name, {"connection": (flow.connect, "connection")}, **defaults)
    ret = flow.b.add("events_generic_return_result", response="ok")
    flow.b.connect(node, "exec_out", ret, "exec_in")
    if output is not None:
        flow.b.connect(node, output, ret, "response")
    if error_branch:
        failed = flow.b.add("events_generic_return_result")
        flow.b.connect(node, "error", failed, "exec_in")
        flow.b.connect(node, "error_message", failed, "response")
    return flow.b.run(flow.start, egress=LOCAL)


def test_calendar_event_round_trip(dovecot):
    """Create stores an event; List, Get find it by UID and range; Delete removes it; List Calendars sees the folder."""
    created = calendar_flow(dovecot, "mail_imap_calendar_create_event", "event_uid", summary="Stand-up",
                            description="daily", location="Room 1", start="2026-12-01T09:00:00Z",
                            end="2026-12-01T09:15:00+00:00", attendees="ann@example.org, bob@example.org")
    assert created.status == "completed", created.error
    uid = created.result
    events = calendar_flow(dovecot, "mail_imap_calendar_list_events", "events").result
    assert [(e["uid"], e["summary"], e["location"], e["start"]) for e in events] == [
        (uid, "Stand-up", "Room 1", "2026-12-01T09:00:00+00:00")]
    assert events[0]["attendees"] == ["mailto:ann@example.org", "mailto:bob@example.org"]
    outside = calendar_flow(dovecot, "mail_imap_calendar_list_events", "events", start_date="2027-01-01T00:00:00Z",
                            end_date="2027-02-01T00:00:00Z")
    assert outside.result == []
    got = calendar_flow(dovecot, "mail_imap_calendar_get_event", "event", event_uid=uid)
    assert got.result["description"] == "daily"
    names = calendar_flow(dovecot, "mail_imap_calendar_list", "calendar_names").result
    assert names == ["Calendar"]
    assert calendar_flow(dovecot, "mail_imap_calendar_delete_event", None, event_uid=uid).result == "ok"
    assert calendar_flow(dovecot, "mail_imap_calendar_list_events", "events").result == []


def test_missing_events_take_the_error_branch_or_fail(dovecot):
    """Get and Delete of an unknown UID report on Error with a message, or fail when Error is unwired."""
    for node_name, output in (("mail_imap_calendar_get_event", "event"),
                              ("mail_imap_calendar_delete_event", None)):
        routed = calendar_flow(dovecot, node_name, output, error_branch=True, event_uid="nope")
        assert routed.status == "completed" and "no event with UID 'nope'" in routed.result
        failed = calendar_flow(dovecot, node_name, output, event_uid="nope")
        assert failed.reason == "node_error" and "no event" in failed.error["message"]


@pytest.mark.parametrize("defaults, message", [
    ({"summary": "x", "start": "2026-12-01T10:00:00", "end": "2026-12-01T11:00:00Z"}, "time zone"),
    ({"summary": "x", "start": "tomorrow", "end": "2026-12-01T11:00:00Z"}, "RFC 3339"),
    ({"summary": "x", "start": "2026-12-02T10:00:00Z", "end": "2026-12-01T11:00:00Z"}, "before 'start'"),
    ({"summary": "x", "start": "2026-12-01T10:00:00Z", "end": "2026-12-01T11:00:00Z", "attendees": "nobody"},
     "invalid address"),
])
def test_bad_event_inputs_fail(dovecot, defaults, message):
    """Naive or malformed dates, an end before the start and bad attendees fail Create Event."""
    result = calendar_flow(dovecot, "mail_imap_calendar_create_event", "event_uid", **defaults)
    assert result.reason == "node_error" and message in result.error["message"]


@pytest.fixture
def ics_server():
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body, status = (ICS, 200) if self.path == "/team.ics" else (b"nope", 404)
            self.send_response(status)
            self.send_header("Content-Type", "text/calendar")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def subscribe(url: str, output: str, **dates):
    b = BoardBuilder()
    start = b.add("events_simple")
    node = b.add("mail_imap_calendar_subscribe", url=url, **dates)
    b.connect(start, "exec_out", node, "exec_in")
    ok = b.add("events_generic_return_result")
    b.connect(node, "exec_out", ok, "exec_in")
    b.connect(node, output, ok, "response")
    failed = b.add("events_generic_return_result")
    b.connect(node, "error", failed, "exec_in")
    b.connect(node, "error_message", failed, "response")
    return b.run(start, egress=LOCAL)


def test_subscribe_reads_an_ics_url(ics_server):
    """Subscribe downloads the .ics, names the calendar, keeps zoned times and filters by range."""
    assert subscribe(f"{ics_server}/team.ics", "calendar_name").result == "Team"
    events = subscribe(f"{ics_server}/team.ics", "events").result
    assert [(e["uid"], e["start"], e["status"]) for e in events] == [
        ("early@example.org", "2026-12-01T09:00:00+00:00", "CONFIRMED"),
        ("late@example.org", "2026-12-15T18:00:00[Europe/Berlin]", None)]
    december_first = subscribe(f"{ics_server}/team.ics", "events", start_date="2026-12-01T00:00:00Z",
                               end_date="2026-12-02T00:00:00Z").result
    assert [e["uid"] for e in december_first] == ["early@example.org"]
    assert "HTTP error 404" in subscribe(f"{ics_server}/missing.ics", "events").result
