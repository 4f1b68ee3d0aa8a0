"""SMTP nodes against a real aiosmtpd server on 127.0.0.1 (with AUTH), and mail building."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from boardrun.engine import EgressPolicy
from engine_testkit import BoardBuilder

LOCAL = EgressPolicy(allow_private=True)
PASSWORD = "s3cret-Passw0rd"


class Sink:
    def __init__(self) -> None:
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"


def _auth(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"ann" and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself


@pytest.fixture
def smtp():
    sink = Sink()
    with socket.socket() as probe:  # aiosmtpd's start-up check cannot use port 0
        probe.bind(("127.0.0.1", 0))
        sink.port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port, authenticator=_auth, auth_require_tls=False)
    controller.start()
    yield sink
    controller.stop()


def board(port: int, username: str = "ann", password: str = PASSWORD, encryption: str = "Plain",
          sends: int = 1, **mail):
    b = BoardBuilder()
    start = b.add("events_simple")
    connect = b.add("email_smtp_connect", host="127.0.0.1", port=port, username=username, password=password,
                    encryption=encryption)
    b.connect(start, "exec_out", connect, "exec_in")
    fields = {"from": "Ann <ann@example.org>", "to": "bob@example.org", **mail}
    previous = connect
    for _ in range(sends):
        send = b.add("email_smtp_send", **fields)
        b.connect(connect, "connection", send, "connection")
        b.connect(previous, "exec_out", send, "exec_in")
        previous = send
    ret = b.add("events_generic_return_result")
    b.connect(previous, "exec_out", ret, "exec_in")
    b.connect(previous, "message_id", ret, "response")
    return b, start


def test_send_mail_with_html_attachment_and_hidden_bcc(smtp):
    """The mail reaches every recipient, carries text, HTML and the attachment, and hides Bcc."""
    b, start = board(smtp.port, to="Bob <bob@example.org>, carl@example.org", cc="dee@example.org",
                     bcc="eve@example.org", subject="Hallo Wörld", body_text="plain body", body_html="<b>html</b>",
                     attachments=[{"filename": "a.bin", "content_type": "application/octet-stream",
                                   "data": [0, 1, 2, 255]}])
    result = b.run(start, egress=LOCAL)
    assert result.status == "completed", result.error
    (envelope,) = smtp.envelopes
    assert envelope.mail_from == "ann@example.org"
    assert envelope.rcpt_tos == ["bob@example.org", "carl@example.org", "dee@example.org", "eve@example.org"]
    message = message_from_bytes(envelope.original_content, policy=policy.default)
    assert message["Message-ID"] == result.result
    assert message["Subject"] == "Hallo Wörld" and message["Bcc"] is None
    assert message.get_body(("plain",)).get_content().strip() == "plain body"
    assert message.get_body(("html",)).get_content().strip() == "<b>html</b>"
    (attachment,) = message.iter_attachments()
    assert (attachment.get_filename(), attachment.get_payload(decode=True)) == ("a.bin", bytes([0, 1, 2, 255]))


def test_bcc_header_on_request_and_session_reused_for_two_mails(smtp):
    """Include Bcc Header keeps the header; two sends share one session (one login)."""
    b, start = board(smtp.port, bcc="eve@example.org", include_bcc_header=True, sends=2)
    assert b.run(start, egress=LOCAL).status == "completed"
    assert len(smtp.envelopes) == 2
    assert message_from_bytes(smtp.envelopes[0].original_content)["Bcc"] == "eve@example.org"


def test_wrong_password_fails_without_revealing_it(smtp):
    """A refused login fails SMTP Connect; neither the error nor any log line contains the password."""
    events = []
    b, start = board(smtp.port, password="wrong-" + PASSWORD)
    result = b.run(start, egress=LOCAL, on_event=events.append)
    assert (result.reason, result.error["node_name"]) == ("node_error", "email_smtp_connect")
    assert "535" in result.error["message"]
    assert not any(PASSWORD in repr(e) for e in events) and PASSWORD not in repr(result)


def test_starttls_is_required_when_asked_for(smtp):
    """StartTls against a server without STARTTLS fails instead of falling back to plain text."""
    b, start = board(smtp.port, encryption="StartTls")
    result = b.run(start, egress=LOCAL)
    assert result.error["node_name"] == "email_smtp_connect" and "STARTTLS" in result.error["message"]


@pytest.mark.parametrize("mail, message", [
    ({"to": "", "cc": "", "bcc": ""}, "no recipients"),
    ({"from": ""}, "must contain an e-mail address"),
    ({"to": "not-an-address"}, "invalid address"),
    ({"subject": "x\r\nBcc: victim@example.org"}, "invalid header"),
    ({"attachments": [{"path": "/etc/passwd", "store_ref": None}]}, "storage path"),
    ({"attachments": [{"data": "abc"}]}, "byte values"),
])
def test_bad_mail_inputs_fail_clearly(smtp, mail, message):
    """Missing recipients, bad addresses, header injection and bad attachments fail Send Mail."""
    b, start = board(smtp.port, **mail)
    result = b.run(start, egress=LOCAL)
    assert result.error["node_name"] == "email_smtp_send" and message in result.error["message"]
    assert smtp.envelopes == []


def test_egress_and_connect_inputs_are_checked(smtp):
    """Loopback is refused by default; bad ports and encryption modes fail clearly."""
    b, start = board(smtp.port)
    assert "egress refused" in b.run(start).error["message"]
    b, start = board(0)
    assert "1 to 65535" in b.run(start, egress=LOCAL).error["message"]
    b, start = board(smtp.port, encryption="SSL")
    assert "must be one of" in b.run(start, egress=LOCAL).error["message"]


def test_send_needs_an_open_connection():
    """A Connection struct that names no open session of this run fails Send Mail."""
    b = BoardBuilder()
    start = b.add("events_simple")
    send = b.add("email_smtp_send", connection={"id": "smtp_elsewhere"}, to="b@example.org")
    b.set_default(send, "from", "a@example.org")
    b.connect(start, "exec_out", send, "exec_in")
    assert "no open smtp connection" in b.run(start).error["message"]


@pytest.fixture
def self_signed(tmp_path):
    """A server TLS context with a throwaway self-signed certificate for 127.0.0.1."""
    import ssl
    import subprocess

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def test_starttls_certificate_is_verified(self_signed):
    """StartTls refuses a server whose certificate does not verify, instead of sending the password."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Sink(), hostname="127.0.0.1", port=port, authenticator=_auth, auth_require_tls=False,
                            tls_context=self_signed)
    controller.start()
    try:
        b, start = board(port, encryption="StartTls")
        result = b.run(start, egress=LOCAL)
        assert result.error["node_name"] == "email_smtp_connect"
        assert "CERTIFICATE_VERIFY_FAILED" in result.error["message"]
    finally:
        controller.stop()


def test_implicit_tls_certificate_is_verified(self_signed):
    """Tls refuses a server whose certificate does not verify (checked in the TLS handshake)."""
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            with self_signed.wrap_socket(conn, server_side=True):
                pass
        except OSError:
            pass  # the client aborts the handshake: what this test expects

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        b, start = board(port, encryption="Tls")
        result = b.run(start, egress=LOCAL)
        assert result.error["node_name"] == "email_smtp_connect"
        assert "CERTIFICATE_VERIFY_FAILED" in result.error["message"]
    finally:
        thread.join(5)
        listener.close()
