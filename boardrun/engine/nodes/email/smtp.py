"""SMTP: connect (and log in) once per run, send any number of mails on that session."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ... import http_egress, mail, netio
from ...coerce import as_bool, as_int, as_str
from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext

KIND = "smtp"


def _client_class() -> Any:
    import smtplib
    import ssl

    class CheckedSMTP(smtplib.SMTP):
        """smtplib.SMTP whose socket goes to the egress-checked address (TLS still checks the host name)."""

        def __init__(self, policy: http_egress.EgressPolicy, host: str, timeout: float, implicit_tls: bool) -> None:
            super().__init__(timeout=timeout)
            self._policy = policy
            self._implicit_tls = implicit_tls
            self._host = host  # what STARTTLS verifies the certificate against

        def _get_socket(self, host: str, port: int, timeout: float) -> Any:
            sock = http_egress.connect_checked(self._policy, host, port, timeout)
            if self._implicit_tls:
                return ssl.create_default_context().wrap_socket(sock, server_hostname=host)
            return sock

    return CheckedSMTP


def _quit(client: Any) -> None:
    try:
        client.quit()
    finally:
        client.close()


def _errors() -> tuple[type[BaseException], ...]:
    import smtplib
    import ssl

    return (smtplib.SMTPException, ssl.SSLError, OSError, UnicodeError)


def mail_inputs(ctx: NodeContext, bcc_header: bool) -> tuple[str, list[str], Any, str]:
    """(sender address, recipients, message, Message-ID) from the shared From/To/.../Attachments pins."""
    sender = as_str(ctx.get("from"), "from")
    to, cc, bcc = (as_str(ctx.get(pin), pin) for pin in ("to", "cc", "bcc"))
    senders = mail.address_list(sender, "from")
    if not senders:
        raise NodeError("input 'from' must contain an e-mail address")
    recipients = mail.address_list(to, "to") + mail.address_list(cc, "cc") + mail.address_list(bcc, "bcc")
    msg_id = mail.message_id(senders[0])
    message = mail.build_message(
        sender=sender, to=to, cc=cc, bcc_header=bcc if bcc_header else "",
        subject=as_str(ctx.get("subject"), "subject"), text=as_str(ctx.get("body_text"), "body_text"),
        html=as_str(ctx.get("body_html"), "body_html"), msg_id=msg_id,
        attachments=mail.attachment_parts(ctx.get("attachments"), "attachments"))
    return senders[0], recipients, message, msg_id


def connect_inputs(ctx: NodeContext) -> tuple[str, int, str, str, str]:
    host = as_str(ctx.get("host"), "host")
    port = http_egress.check_port(as_int(ctx.get("port"), "port"), "input 'port'")
    username, password = as_str(ctx.get("username"), "username"), as_str(ctx.get("password"), "password")
    encryption = as_str(ctx.get("encryption"), "encryption")
    if encryption not in mail.ENCRYPTIONS:
        raise NodeError(f"input 'encryption' must be one of {', '.join(mail.ENCRYPTIONS)}, got '{encryption}'")
    return host, port, username, password, encryption


@register("email_smtp_connect", "SMTP Connect", "Email/SMTP",
          "Connects to an SMTP server (implicit TLS, STARTTLS or plain), logs in when a username is given, and "
          "keeps the session for 'Send Mail'. The same settings in one run reuse the session.",
          [inp("exec_in", "In", "Execution"),
           inp("host", "Host", "String", default="smtp.example.com"),
           inp("port", "Port", "Integer", default=587, description="465 for Tls, 587 for StartTls, usually."),
           inp("username", "Username", "String", description="Leave empty to send without logging in."),
           inp("password", "Password", "String", options={"sensitive": True}),
           inp("encryption", "Encryption", "String", default="StartTls",
               options={"valid_values": ["Tls", "StartTls", "Plain"]},
               description="Certificates are verified for Tls and StartTls; Plain sends everything in the clear."),
           out("exec_out", "Out", "Execution"),
           out("connection", "Connection", "Struct", description="{id} naming the session in this run.")])
def email_smtp_connect(ctx: NodeContext) -> None:
    import ssl

    ctx.deactivate("exec_out")
    host, port, username, password, encryption = connect_inputs(ctx)
    # The settings (password included) stay in memory as the reuse key; they never reach a pin or log.
    settings = (host, port, username, password, encryption)
    ref_id = ctx.resources.find(KIND, settings)
    if ref_id is None:
        client = _client_class()(ctx.egress, host, netio.io_timeout(ctx), encryption == "Tls")
        try:
            client.connect(host, port)
            client.ehlo()
            if encryption == "StartTls":
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if username:
                client.login(username, password)
        except NodeError:
            client.close()
            raise
        except _errors() as exc:
            client.close()
            raise NodeError(f"SMTP connection to {host}:{port} failed: {type(exc).__name__}: {_reply(exc)}") from None
        ref_id = ctx.resources.add(KIND, client, _quit, reuse_key=settings)
        ctx.log("Debug", f"SMTP session to {host}:{port} ({encryption}) opened")
    ctx.set("connection", {"id": ref_id})
    ctx.activate("exec_out")


def _reply(exc: BaseException) -> str:
    code, text = getattr(exc, "smtp_code", None), getattr(exc, "smtp_error", None)
    if code is not None and isinstance(text, bytes):
        return f"{code} {text.decode('utf-8', 'replace')}"
    return str(exc)


@register("email_smtp_send", "Send Mail", "Email/SMTP",
          "Sends one mail on an SMTP session to every address in To, Cc and Bcc; outputs its Message-ID.",
          [inp("exec_in", "In", "Execution"),
           inp("connection", "Connection", "Struct", options=netio.ENFORCE_SCHEMA,
               description="A connection from 'SMTP Connect'."),
           inp("from", "From", "String", description="One sender, e.g. 'Ann <ann@example.org>'."),
           inp("to", "To", "String", description="Comma-separated addresses."),
           inp("cc", "Cc", "String", default=""),
           inp("bcc", "Bcc", "String", default="", description="Receives the mail; hidden unless 'Include Bcc Header'."),
           inp("subject", "Subject", "String", default="(no subject)"),
           inp("body_text", "Body (text)", "String", default=""),
           inp("body_html", "Body (HTML)", "String", default="", description="Sent as an alternative when not empty."),
           inp("attachments", "Attachments", "Struct", "Array", default=[], options=netio.ENFORCE_SCHEMA,
               description="Attachment structs {filename, content_type, data}."),
           inp("include_bcc_header", "Include Bcc Header", "Boolean", default=False),
           out("exec_out", "Out", "Execution"),
           out("message_id", "Message-ID", "String")])
def email_smtp_send(ctx: NodeContext) -> None:
    from email import policy

    ctx.deactivate("exec_out")
    client = ctx.resources.get(KIND, ctx.get("connection"), key="id")
    sender, recipients, message, msg_id = mail_inputs(ctx, as_bool(ctx.get("include_bcc_header"), "include_bcc_header"))
    if not recipients:
        raise NodeError("no recipients: fill at least one of To, Cc or Bcc")
    if client.sock is None:
        raise NodeError("the SMTP server closed this session; connect again")
    client.sock.settimeout(netio.io_timeout(ctx))
    try:
        refused = client.sendmail(sender, recipients, message.as_bytes(policy=policy.SMTP))
    except _errors() as exc:
        raise NodeError(f"SMTP send failed: {type(exc).__name__}: {_reply(exc)}") from None
    if refused:
        ctx.log("Warn", f"the server refused {len(refused)} of {len(recipients)} recipients: {', '.join(refused)}")
    ctx.log("Debug", f"sent {msg_id} to {len(recipients) - len(refused)} recipient(s)")
    ctx.set("message_id", msg_id)
    ctx.activate("exec_out")
