"""An IMAP session for the mail nodes: stdlib imaplib over a socket to the egress-checked address.

Every command runs with a timeout bounded by the run's deadline, mailbox names are quoted and
encoded (modified UTF-7, RFC 3501), and message bodies larger than the policy's response cap are
refused before they are fetched.
"""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING, Any

from . import http_egress, netio
from .errors import NodeError

if TYPE_CHECKING:
    from .runtime import NodeContext

KIND = "imap"

_LIST_LINE = re.compile(rb'^\((?P<flags>[^)]*)\) (?P<delim>"(?:[^"\\]|\\.)*"|NIL) (?P<name>.*)$')
_UID_SIZE = re.compile(rb"UID (\d+).*?RFC822\.SIZE (\d+)|RFC822\.SIZE (\d+).*?UID (\d+)")
_COPYUID = re.compile(r"COPYUID \d+ \S+ (\d+)")


def encode_mailbox(name: str) -> str:
    """A mailbox name in IMAP's modified UTF-7, quoted for a command."""
    out, pending = [], []

    def flush() -> None:
        if pending:
            chunk = base64.b64encode("".join(pending).encode("utf-16-be")).decode("ascii").rstrip("=")
            out.append("&" + chunk.replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    encoded = "".join(out)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def decode_mailbox(raw: str) -> str:
    def part(match: re.Match[str]) -> str:
        body = match.group(1)
        if not body:
            return "&"
        padded = body.replace(",", "/") + "=" * (-len(body) % 4)
        return base64.b64decode(padded).decode("utf-16-be")

    return re.sub(r"&([^-]*)-", part, raw)


class ImapSession:
    """One logged-in imaplib client, remembering which mailbox is selected."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.selected: str | None = None

    # -- plumbing ------------------------------------------------------------------------
    def command(self, ctx: NodeContext, what: str, name: str, *args: Any) -> list[Any]:
        """Run one IMAP command (by imaplib method name) and return its data; NodeError unless OK."""
        import imaplib

        self.client.sock.settimeout(netio.io_timeout(ctx))
        try:
            typ, data = getattr(self.client, name)(*args)
        except (imaplib.IMAP4.error, OSError) as exc:
            if isinstance(exc, (imaplib.IMAP4.abort, OSError)):
                self.selected = None
            raise NodeError(f"IMAP {what} failed: {_text(exc)}") from None
        if typ != "OK":
            raise NodeError(f"IMAP {what} failed: {_text(data)}")
        return data

    def select(self, ctx: NodeContext, mailbox: str) -> None:
        if self.selected != mailbox:
            self.selected = None
            self.command(ctx, f"SELECT '{mailbox}'", "select", encode_mailbox(mailbox))
            self.selected = mailbox

    def capable(self, name: str) -> bool:
        return name in self.client.capabilities

    # -- mailboxes -----------------------------------------------------------------------
    def list(self, ctx: NodeContext, pattern: str = "*") -> list[str]:
        data = self.command(ctx, "LIST", "list", '""', encode_mailbox(pattern) if pattern != "*" else "*")
        names = []
        for item in data:
            if item is None:
                continue
            if isinstance(item, tuple):  # the name came as a literal
                names.append(decode_mailbox(item[1].decode("utf-8", "replace")))
                continue
            match = _LIST_LINE.match(item)
            if match is None:
                continue
            raw = match.group("name").decode("utf-8", "replace")
            if raw.startswith('"') and raw.endswith('"'):
                raw = re.sub(r'\\(.)', r"\1", raw[1:-1])
            names.append(decode_mailbox(raw))
        return names

    def exists(self, ctx: NodeContext, mailbox: str) -> bool:
        return mailbox in self.list(ctx, mailbox)

    def create(self, ctx: NodeContext, mailbox: str) -> None:
        self.command(ctx, f"CREATE '{mailbox}'", "create", encode_mailbox(mailbox))

    def ensure(self, ctx: NodeContext, mailbox: str) -> bool:
        """Create ``mailbox`` unless it exists; True when it was created."""
        if self.exists(ctx, mailbox):
            return False
        self.create(ctx, mailbox)
        return True

    # -- messages ------------------------------------------------------------------------
    def fetch(self, ctx: NodeContext, mailbox: str, uid: int) -> bytes:
        self.select(ctx, mailbox)
        limit = ctx.egress.max_response_bytes
        sizes = self.command(ctx, f"UID FETCH {uid}", "uid", "FETCH", str(uid), "(UID RFC822.SIZE)")
        size = None
        for item in sizes:
            line = item[0] if isinstance(item, tuple) else item
            match = _UID_SIZE.search(line or b"")
            if match:
                found_uid = int(match.group(1) or match.group(4))
                if found_uid == uid:
                    size = int(match.group(2) or match.group(3))
        if size is None:
            raise NodeError(f"no message with UID {uid} in '{mailbox}'")
        if size > limit:
            raise NodeError(f"message UID {uid} is {size} bytes, more than the limit of {limit} bytes")
        data = self.command(ctx, f"UID FETCH {uid}", "uid", "FETCH", str(uid), "(BODY.PEEK[])")
        for item in data:
            if isinstance(item, tuple) and b"BODY[]" in item[0]:
                return item[1]
        raise NodeError(f"the server returned no body for message UID {uid} in '{mailbox}'")

    def store(self, ctx: NodeContext, mailbox: str, uid: int, change: str, flags: str) -> None:
        self.select(ctx, mailbox)
        self.command(ctx, f"UID STORE {uid}", "uid", "STORE", str(uid), change, f"({flags})")

    def expunge(self, ctx: NodeContext, mailbox: str, uid: int, mode: str) -> None:
        """Remove messages flagged \\Deleted: only ``uid`` (uid_expunge), all of them (expunge) or none."""
        if mode == "none":
            return
        self.select(ctx, mailbox)
        if mode == "uid_expunge":
            if self.capable("UIDPLUS"):
                self.command(ctx, f"UID EXPUNGE {uid}", "uid", "EXPUNGE", str(uid))
                return
            ctx.log("Warn", "the server has no UIDPLUS: EXPUNGE removes every message flagged \\Deleted")
        self.command(ctx, "EXPUNGE", "expunge")

    def copy_uid(self, ctx: NodeContext, data: list[Any], destination: str, message: bytes | None) -> int:
        """The UID the copied/moved message got in ``destination`` (COPYUID, else a Message-ID search)."""
        texts = [_text(data)] + [_text(r) for r in (self.client.untagged_responses.pop("COPYUID", None) or [])]
        for text in texts:
            match = _COPYUID.search(text) or re.match(r"\d+ \S+ (\d+)", text)
            if match:
                return int(match.group(1))
        msg_id = _message_id(message)
        if msg_id:
            self.select(ctx, destination)
            found = self.command(ctx, "UID SEARCH", "uid", "SEARCH", "HEADER", "Message-ID", _quote(msg_id))
            uids = b" ".join(x for x in found if isinstance(x, bytes)).split()
            if uids:
                return int(uids[-1])
        raise NodeError(f"the message was copied to '{destination}', but the server did not report its new UID")


def _message_id(message: bytes | None) -> str | None:
    if not message:
        return None
    match = re.search(rb"^Message-ID:\s*(<[^>\r\n]+>)", message, re.IGNORECASE | re.MULTILINE)
    return match.group(1).decode("ascii", "replace") if match else None


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return " ".join(_text(v) for v in value if v is not None)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def close(session: ImapSession) -> None:
    """LOGOUT politely (briefly), or just drop the connection when the server does not answer."""
    import imaplib

    try:
        session.client.sock.settimeout(2)
        session.client.logout()  # closes the socket itself
    except (imaplib.IMAP4.error, OSError):
        session.client.shutdown()


def open_session(ctx: NodeContext, host: str, port: int, username: str, password: str, encryption: str
                 ) -> ImapSession:
    """Connect, secure (Tls: implicit, StartTls: upgrade with a verified certificate) and log in."""
    import imaplib
    import ssl

    policy = ctx.egress
    context = ssl.create_default_context()

    class CheckedIMAP(imaplib.IMAP4):
        def _create_socket(self, timeout: float | None) -> Any:
            sock = http_egress.connect_checked(policy, self.host, self.port, timeout or policy.timeout_seconds)
            if encryption == "Tls":
                return context.wrap_socket(sock, server_hostname=self.host)
            return sock

    client = None
    try:
        client = CheckedIMAP(host, port, timeout=netio.io_timeout(ctx))
        if encryption == "StartTls":
            client.starttls(ssl_context=context)
        client.sock.settimeout(netio.io_timeout(ctx))
        client.login(username, password)
    except NodeError:
        if client is not None:
            client.shutdown()
        raise
    except (imaplib.IMAP4.error, OSError, ssl.SSLError) as exc:
        if client is not None:
            client.shutdown()
        raise NodeError(f"IMAP connection to {host}:{port} failed: {type(exc).__name__}: {_text(exc)}") from None
    return ImapSession(client)


def session_of(ctx: NodeContext, connection: Any) -> ImapSession:
    return ctx.resources.get(KIND, connection, key="id")
