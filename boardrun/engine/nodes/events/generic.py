"""Events/Generic: handing a run's result back to its caller."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...registry import inp, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


@register("events_generic_return_result", "Return Generic Result", "Events/Generic",
          "Hands a JSON value back to whoever started the run; this branch ends here.",
          [inp("exec_in", "Input", "Execution", description="Send the result."),
           inp("response", "Result", "Generic", description="Any JSON value to return.")],
          event_callback=True)
def events_generic_return_result(ctx: NodeContext) -> None:
    ctx.emit_result(ctx.get("response"))
