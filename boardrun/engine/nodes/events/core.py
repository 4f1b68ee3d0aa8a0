"""Events: the entry nodes a run starts at."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import NodeError
from ...model import MISSING
from ...registry import out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


def _squash(key: str) -> str:
    return key.lower().replace("_", "")


@register("events_simple", "Simple Event", "Events", "Entry point without input: starts the flow when the run begins here.",
          [out("exec_out", "Output", "Execution", description="Fires when the run starts.")],
          start=True, can_be_referenced_by_fns=True)
def events_simple(ctx: NodeContext) -> None:
    ctx.activate("exec_out")


@register("events_generic", "Generic Event", "Events",
          "Entry point that receives the run's JSON payload; extra outputs added in the editor pick fields out of it.",
          [out("exec_out", "Exec Out", "Execution", description="Fires once the payload has been read."),
           out("payload", "Payload", "Struct", description="The payload, minus fields taken by extra outputs.")],
          start=True, can_be_referenced_by_fns=True, extra_outputs=True)
def events_generic(ctx: NodeContext) -> None:
    if ctx.delegated:  # called by a Call Reference, which has set the outputs already
        _fire(ctx)
        return
    payload = ctx.payload
    if payload is MISSING or payload is None:
        raise NodeError("this event needs a payload, but the run was started without one")
    if isinstance(payload, dict):
        rest = dict(payload)
        for name, data_type in ctx.output_pins():
            if name == "payload" or data_type == "Execution" or name in ("auto_handle_error", "auto_handle_error_string"):
                continue
            key = name if name in rest else next((k for k in rest if _squash(k) == _squash(name)), None)
            if key is not None:
                ctx.set(name, rest.pop(key))
        ctx.set("payload", rest)
    else:
        ctx.set("payload", payload)
    _fire(ctx)


def _fire(ctx: NodeContext) -> None:
    for name, data_type in ctx.output_pins():
        if data_type == "Execution" and name != "auto_handle_error":
            ctx.activate(name)
