"""Helpers shared by the protocol nodes (TCP, UDP, WebSocket, e-mail, MQTT).

Every blocking network call gets a timeout no longer than the egress policy's read timeout and
the time left before the run's deadline, and long waits are cut into short slices with a
cancel/deadline check between them, so a cancelled run never waits on the network for long.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Generator, TypeVar

from .coerce import _kind
from .errors import NodeError

if TYPE_CHECKING:
    from .runtime import NodeContext

T = TypeVar("T")

SLICE_SECONDS = 0.25  # how often a long wait looks at the cancel flag and the deadline


def io_timeout(ctx: NodeContext) -> float:
    """Timeout for one blocking call: the policy's read timeout, cut to the time the run has left."""
    ctx.checkpoint()
    return max(0.01, min(ctx.egress.timeout_seconds, ctx.time_left()))


def wait_slice(ctx: NodeContext, until: float | None) -> float:
    """Timeout for one slice of a long wait ending at monotonic time ``until`` (None: the run's deadline)."""
    import time

    ctx.checkpoint()
    left = ctx.time_left() if until is None else min(ctx.time_left(), until - time.monotonic())
    return max(0.01, min(SLICE_SECONDS, left))


def field(struct: dict[str, Any], key: str, kind: type[T] | tuple[type, ...], what: str,
          default: Any = ...) -> T:
    """``struct[key]`` checked against ``kind``; ``default`` when absent or null (required without one)."""
    value = struct.get(key)
    if value is None:
        if default is ...:
            raise NodeError(f"{what} needs a '{key}' field")
        return default
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (type(value) is bool and bool not in kinds):
        raise NodeError(f"{what} field '{key}' has the wrong type ({_kind(value)})")
    return value


def struct_input(ctx: NodeContext, pin: str, what: str) -> dict[str, Any]:
    value = ctx.get(pin)
    if not isinstance(value, dict):
        raise NodeError(f"input '{pin}' must be {what} object, got {_kind(value)}")
    return value


def byte_values(value: Any, what: str) -> bytes:
    """A Flow-Like byte array (JSON list of 0..255) as bytes."""
    if isinstance(value, list) and all(type(b) is int and 0 <= b <= 255 for b in value):
        return bytes(value)
    raise NodeError(f"{what} must be an array of byte values (0 to 255)")


def fail_or_branch(ctx: NodeContext, error_pin: str, message: str) -> None:
    """Report a connection failure the way Flow-Like's protocol nodes do, without hiding it.

    Flow-Like activates the node's Error output and returns success, so with nothing wired to
    Error the failure is invisible. Here the Error branch is taken when it is wired; otherwise
    the node fails.
    """
    if ctx.targets(error_pin):
        ctx.log("Error", message)
        ctx.activate(error_pin)
        return
    raise NodeError(message)


def guarded(what: str, call: Callable[[], T], *errors: type[BaseException]) -> T:
    """Run ``call`` and turn the library's errors into a NodeError naming ``what``."""
    try:
        return call()
    except NodeError:
        raise
    except (OSError, *errors) as exc:
        raise NodeError(f"{what} failed: {_describe(exc)}") from None


def _describe(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


ENFORCE_SCHEMA = {"enforce_schema": True}


Message = tuple[bytes, dict[str, Any]]  # payload, plus named facts (topic, sender address, session)


def hold(ctx: NodeContext, ref_id: str, timeout_seconds: int,
         receive: Callable[[float], Message | bool | None], parse_json: bool = False
         ) -> Generator[list[Any], None, str]:
    """Keep a connection open after its On Connect body, as Flow-Like's long-running nodes do, and
    hand every incoming message to the node's referenced function (see :func:`deliver`).

    ``receive(seconds)`` waits at most that long and returns a message, None (nothing yet) or
    False (the peer has gone). Returns why the wait ended: ``"closed"`` (a Close node released
    the connection), ``"peer"`` or ``"timeout"`` (``timeout_seconds`` passed; 0 means no own
    timeout, so the run's deadline or a cancel ends the wait).
    """
    import time

    ctx.handler_outputs()  # a reference to a node that is not on the board fails now, not at the first message
    until = time.monotonic() + timeout_seconds if timeout_seconds > 0 else None
    while True:
        if ref_id not in ctx.resources:
            return "closed"
        if until is not None and time.monotonic() >= until:
            return "timeout"
        got = receive(wait_slice(ctx, until))
        if got is False:
            return "peer"
        if isinstance(got, tuple):
            for target in deliver(ctx, got[0], got[1], parse_json):
                yield [target]


def deliver(ctx: NodeContext, data: bytes, facts: dict[str, Any], parse_json: bool = False) -> list[Any]:
    """Fill the referenced function's outputs from one message; returns the nodes to run.

    Outputs named like a fact (topic, sender_addr) get that fact; one named 'payload' gets the
    text (for MQTT the parsed JSON when the text is JSON); when exactly one other output is left,
    it gets the text (String) or the bytes (Byte). A 'session' fact (TCP Listen's accepted
    connection) goes to the first output, as in Flow-Like. Without a referenced function the
    message is dropped.
    """
    import json

    outputs = ctx.handler_outputs()
    if not outputs:
        ctx.log("Debug", f"no handler function referenced: dropped a message of {len(data)} bytes")
        return []
    if "session" in facts:
        return ctx.fire_handler({outputs[0][0]: facts["session"]})
    text = data.decode("utf-8", "replace")
    values: dict[str, Any] = {}
    rest = []
    for name, data_type in outputs:
        if name in facts:
            values[name] = facts[name]
        elif name == "payload":
            values[name] = text
            if parse_json:
                try:
                    values[name] = json.loads(text)
                except ValueError:
                    pass
        else:
            rest.append((name, data_type))
    if len(rest) == 1:
        name, data_type = rest[0]
        values[name] = list(data) if data_type == "Byte" else text
    return ctx.fire_handler(values)


def close_session(ctx: NodeContext, kind: str, what: str) -> None:
    """Release the session on the 'session' input; closing twice only logs, as in Flow-Like."""
    session = ctx.get("session")
    ref_id = session.get("ref_id") if isinstance(session, dict) else None
    if not isinstance(ref_id, str):
        raise NodeError(f"input 'session' must be a {what} session object with a 'ref_id'")
    if not ctx.resources.release(ref_id, kind):
        ctx.log("Warn", f"{what} session '{ref_id}' was not open (already closed?)")
