"""Control/Flow: nodes that remember state across the times they run within one run.

Triggers are read the way Flow-Like reads them: an Execution input counts as fired when its
flag (or its source's flag) is set. The remembered state (counter, open/closed, side) lives in
the node's run-scoped state, so every run starts from the node's inputs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...coerce import as_bool, as_int
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


@register("control_do_n", "Do N", "Control/Flow", "Lets execution through at most N times; 'Reset' starts counting again.",
          [inp("exec_in", "Input", "Execution", description="Try to pass."),
           inp("n", "N", "Integer", default=1, description="How many times to let execution through."),
           inp("start_index", "Start Index", "Integer", default=0, description="Where the counter starts."),
           inp("reset", "Reset", "Execution", description="Set the counter back to the start index."),
           out("then", "Then", "Execution", description="Fires while the counter is below N."),
           out("index", "Index", "Integer", description="The counter after this pass.", default=0),
           out("remaining", "Remaining", "Integer", description="Passes left before N is reached.", default=0)])
def control_do_n(ctx: NodeContext) -> None:
    ctx.deactivate("then")
    n = max(0, as_int(ctx.get("n"), "n"))
    start = as_int(ctx.get("start_index"), "start_index")
    state = ctx.state
    index = max(state.get("index", start), start)
    if ctx.exec_input_active("reset"):
        index = start
        ctx.set_inputs("reset", False)  # a reset is used up once seen, as in Flow-Like
    # Only a trigger on 'Input' passes; Flow-Like also lets the reset trigger itself through.
    if ctx.exec_input_active("exec_in") and index < n:
        ctx.activate("then")
        index += 1
    state["index"] = index
    ctx.set("index", index)
    ctx.set("remaining", max(0, n - index))


@register("control_do_once", "Do Once", "Control/Flow", "Lets execution through the first time only, until reset.",
          [inp("exec_in", "Input", "Execution", description="Try to pass."),
           inp("reset", "Reset", "Execution", description="Open again."),
           inp("start_closed", "Start Closed", "Boolean", default=False,
               description="Start as if it had already fired."),
           out("then", "Then", "Execution", description="Fires the first time through."),
           out("has_fired", "Has Fired", "Boolean", description="Whether it is closed now.")])
def control_do_once(ctx: NodeContext) -> None:
    ctx.deactivate("then")
    state = ctx.state
    fired = state.get("fired")
    if fired is None:
        fired = as_bool(ctx.get("start_closed"), "start_closed")
    if ctx.exec_input_active("reset"):
        fired = False
        ctx.set_inputs("reset", False)
    if ctx.exec_input_active("exec_in"):
        if not fired:
            ctx.activate("then")
        fired = True
    state["fired"] = fired
    ctx.set("has_fired", fired)


@register("control_flip_flop", "Flip Flop", "Control/Flow", "Alternates between 'A' and 'B' each time it runs.",
          [inp("exec_in", "Input", "Execution", description="Fire the current side and switch."),
           inp("start_on_a", "Start On A", "Boolean", default=True, description="Whether the first run fires 'A'."),
           out("a", "A", "Execution", description="Fires on odd runs (when starting on A)."),
           out("b", "B", "Execution", description="Fires on the others."),
           out("is_a", "Is A", "Boolean", description="Whether the next run fires 'A'.", default=True),
           out("tick", "Tick", "Integer", description="How many times it has fired.", default=0)])
def control_flip_flop(ctx: NodeContext) -> None:
    ctx.deactivate("a")
    ctx.deactivate("b")
    state = ctx.state
    is_a = state.get("is_a")
    if is_a is None:
        is_a = as_bool(ctx.get("start_on_a"), "start_on_a")
    tick = state.get("tick", 0)
    if ctx.exec_input_active("exec_in"):
        ctx.activate("a" if is_a else "b")
        is_a = not is_a
        tick += 1
    state["is_a"] = is_a
    state["tick"] = tick
    ctx.set("is_a", is_a)
    ctx.set("tick", tick)


@register("control_gate", "Gate", "Control/Flow", "Passes 'Enter' on to 'Exit' only while open; other inputs open, close or toggle it.",
          [inp("enter", "Enter", "Execution", description="Try to pass."),
           inp("open", "Open", "Execution", description="Open the gate."),
           inp("close", "Close", "Execution", description="Close the gate."),
           inp("toggle", "Toggle", "Execution", description="Switch between open and closed."),
           inp("start_closed", "Start Closed", "Boolean", default=False, description="Start closed."),
           out("exit", "Exit", "Execution", description="Fires when 'Enter' arrives while open."),
           out("is_open", "Is Open", "Boolean", description="Whether the gate is open now.", default=False)])
def control_gate(ctx: NodeContext) -> None:
    ctx.deactivate("exit")
    state = ctx.state
    is_open = state.get("open")
    if is_open is None:
        is_open = not as_bool(ctx.get("start_closed"), "start_closed")
    # Control inputs apply first, in this order, then 'Enter' sees the result (as in Flow-Like).
    if ctx.exec_input_active("open"):
        is_open = True
    if ctx.exec_input_active("close"):
        is_open = False
    if ctx.exec_input_active("toggle"):
        is_open = not is_open
    if ctx.exec_input_active("enter") and is_open:
        ctx.activate("exit")
    state["open"] = is_open
    ctx.set("is_open", is_open)
