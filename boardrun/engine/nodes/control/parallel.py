"""Control/Parallel: joining parallel branches."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


@register("control_gather", "Gather", "Control/Parallel",
          "Waits until every one of its inputs has been reached, then continues once.",
          [inp("exec_in", "Input", "Execution", description="One of the branches to wait for."),
           inp("exec_in", "Input", "Execution", description="One of the branches to wait for."),
           out("exec_done", "In Sync", "Execution", description="Fires when all inputs have arrived.")],
          repeatable={"exec_in"})
def control_gather(ctx: NodeContext) -> None:
    ctx.deactivate("exec_done")
    if ctx.exec_inputs_arrived("exec_in"):
        ctx.activate("exec_done")
        # Marking our own inputs as spent makes the gather fire only once per run, as in Flow-Like.
        ctx.set_inputs("exec_in", False)
