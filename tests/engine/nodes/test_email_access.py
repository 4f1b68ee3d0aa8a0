"""The Email/Access accessors on Email, MailAddress and Attachment structs."""

from __future__ import annotations

import pytest

from engine_testkit import BoardBuilder

ANN = {"name": "Ann", "email": "ann@example.org"}
EMAIL = {"connection": {"id": "imap_1"}, "inbox": {"connection": {"id": "imap_1"}, "name": "INBOX"}, "uid": 7,
         "from": [ANN], "sender": [], "to": [{"name": None, "email": "bob@example.org"}], "cc": None, "bcc": [],
         "subject": "Hi", "date": "2026-12-01T10:00:00+00:00", "plain": "text", "html": None,
         "attachments": [{"filename": "a.txt", "content_type": "text/plain", "data": [104, 105]}]}


def outputs(node_name: str, pin: str, value, names: list[str]):
    """Run one accessor and return the named outputs (collected in a struct by the return node)."""
    results = {}
    for name in names:
        b = BoardBuilder()
        start = b.add("events_simple")
        node = b.add(node_name)
        b.set_default(node, pin, value)
        ret = b.add("events_generic_return_result")
        b.connect(start, "exec_out", ret, "exec_in")
        b.connect(node, name, ret, "response")
        result = b.run(start)
        if result.status != "completed":
            return result
        results[name] = result.result
    return results


@pytest.mark.parametrize("node, pin, value, expected", [
    ("email_get_headers", "email", EMAIL,
     {"from": ANN, "sender": [], "to": [{"name": None, "email": "bob@example.org"}], "cc": [], "bcc": []}),
    ("email_get_headers", "email", {**EMAIL, "from": None}, {"from": None}),
    ("email_get_content", "email", EMAIL,
     {"subject": "Hi", "date": "2026-12-01T10:00:00+00:00", "plain": "text", "html": None}),
    ("email_get_attachments", "email", EMAIL, {"attachments": EMAIL["attachments"]}),
    ("email_get_attachments", "email", {**EMAIL, "attachments": None}, {"attachments": []}),
    ("mail_address_fields", "address", ANN, {"name": "Ann", "email": "ann@example.org"}),
    ("attachment_fields", "attachment", EMAIL["attachments"][0],
     {"filename": "a.txt", "content_type": "text/plain", "data": [104, 105]}),
    ("mail_imap_inbox_mail_to_reference", "mail", EMAIL,
     {"reference": {"connection": EMAIL["connection"], "inbox": EMAIL["inbox"], "uid": 7}}),
])
def test_accessors_read_the_struct_fields(node, pin, value, expected):
    """Each accessor returns the struct's fields; absent lists read as empty, a missing From as null."""
    assert outputs(node, pin, value, list(expected)) == expected


@pytest.mark.parametrize("node, pin, value, output, message", [
    ("email_get_headers", "email", "not a struct", "to", "must be an Email object"),
    ("email_get_headers", "email", {"to": "bob"}, "to", "must be an array"),
    ("email_get_content", "email", {"subject": 5}, "subject", "must be a string"),
    ("mail_address_fields", "address", {"name": "x"}, "email", "needs a 'email' field"),
    ("attachment_fields", "attachment", {"content_type": "text/plain", "data": [300]}, "data", "byte values"),
    ("mail_imap_inbox_mail_to_reference", "mail", {"connection": {}, "inbox": {}, "uid": "7"}, "reference",
     "wrong type"),
])
def test_accessors_refuse_malformed_structs(node, pin, value, output, message):
    """Malformed structs fail the accessor with a message naming the problem."""
    result = outputs(node, pin, value, [output])
    assert result.reason == "node_error" and message in result.error["message"]


def test_importing_the_engine_leaves_the_protocol_libraries_unloaded():
    """Listing the catalogue does not import the mail, MQTT, WebSocket or iCalendar libraries."""
    import subprocess
    import sys

    libraries = ["paho", "websockets", "icalendar", "smtplib", "imaplib", "email.utils", "ssl"]
    code = f"import sys, boardrun.engine as e; e.catalog(); print([m for m in {libraries!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
