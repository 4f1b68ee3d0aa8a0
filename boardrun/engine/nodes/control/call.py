"""Control/Call: running another event of the same board as a function."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

from ...coerce import as_str
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


@register("control_call_reference", "Call Reference", "Control/Call",
          "Runs the event node named by 'Function Reference' and its flow, handing it this node's extra inputs "
          "as its outputs, then continues on 'Done'.",
          [inp("exec_in", "Input", "Execution", description="Call the function."),
           inp("fn_ref", "Function Reference", "String", description="Id of the event node to call."),
           out("exec_out", "Done", "Execution", description="Fires after the called flow has finished.")],
          extra_inputs=True)
def control_call_reference(ctx: NodeContext) -> Iterator[list[Any]]:
    ctx.deactivate("exec_out")
    target = as_str(ctx.get("fn_ref"), "fn_ref")
    # The editor gives this node one input per data output of the called event, by name.
    values = {name: ctx.get(name) for name in ctx.input_names() if name not in ("exec_in", "fn_ref")}
    called = ctx.call(target, values)
    try:
        yield called
    finally:  # also when a Timeout abandons the call
        ctx.end_call(target)
    ctx.activate("exec_out")
