"""Control: branching, loops, sequences, parallel bodies, waiting and rerouting.

Nodes that run bodies are generators: each ``yield`` hands the scheduler a list of nodes to run
with their downstream chains, and the generator resumes once that body has finished.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Iterator

from ...coerce import as_bool, as_float, as_int, as_list
from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


Body = Iterator[list[Any]]


@register("control_branch", "Branch", "Control", "Continues on 'True' or on 'False' depending on a condition.",
          [inp("exec_in", "Input", "Execution", description="Decide."),
           inp("condition", "Condition", "Boolean", default=True, description="The condition to test."),
           out("true", "True", "Execution", description="Fires when the condition holds."),
           out("false", "False", "Execution", description="Fires when it does not.")])
def control_branch(ctx: NodeContext) -> None:
    ctx.deactivate("true")
    ctx.deactivate("false")
    ctx.activate("true" if as_bool(ctx.get("condition"), "condition") else "false")


@register("control_sequence", "Sequence", "Control",
          "Runs the flows wired to its outputs one after another, each to its end before the next starts.",
          [inp("exec_in", "Input", "Execution", description="Start the sequence."),
           out("exec_out", "Output", "Execution", description="A step of the sequence."),
           out("exec_out", "Output", "Execution", description="A step of the sequence.")],
          repeatable={"exec_out"})
def control_sequence(ctx: NodeContext) -> Body:
    ctx.activate("exec_out")
    for target in ctx.targets("exec_out"):
        yield [target]
    ctx.deactivate("exec_out")


@register("control_for_each", "For Each", "Control",
          "Runs the loop body once per element of an array, then continues on 'Done'.",
          [inp("exec_in", "Input", "Execution", description="Start the loop."),
           inp("array", "Array", "Generic", "Array", options={"enforce_generic_value_type": True},
               description="The elements to visit."),
           out("exec_out", "For Each Element", "Execution", description="The loop body."),
           out("value", "Value", "Generic", description="The current element."),
           out("index", "Index", "Integer", description="Position of the current element, from 0."),
           out("done", "Done", "Execution", description="Fires after the last element.")])
def control_for_each(ctx: NodeContext) -> Body:
    items = as_list(ctx.get("array"), "array")
    cap = ctx.limits.max_loop_iterations
    if len(items) > cap:
        raise NodeError(f"array has {len(items)} elements; the loop limit is {cap}")
    ctx.deactivate("done")
    ctx.activate("exec_out")
    body = ctx.targets("exec_out")
    for position, item in enumerate(items):
        ctx.set("value", item)
        ctx.set("index", position)
        for target in body:
            yield [target]
    ctx.deactivate("exec_out")
    ctx.activate("done")


@register("control_while_loop", "While Loop", "Control",
          "Repeats its body while a condition holds, at most 'Max' times, then continues on 'Done'.",
          [inp("exec_in", "Input", "Execution", description="Start the loop."),
           inp("condition", "Condition", "Boolean", default=False, description="Checked before every pass."),
           inp("max_iter", "Max", "Integer", default=15, description="Upper bound on the number of passes."),
           out("exec_out", "Downstream Execution", "Execution", description="The loop body."),
           out("iter", "Iter", "Integer", description="Number of the current pass, from 0."),
           out("done", "Done", "Execution", description="Fires when the loop ends.")])
def control_while_loop(ctx: NodeContext) -> Body:
    max_iter = as_int(ctx.get("max_iter"), "max_iter")
    if max_iter < 0:
        raise NodeError("input 'max_iter' must not be negative")
    cap = ctx.limits.max_loop_iterations
    ctx.deactivate("done")
    ctx.activate("exec_out")
    body = ctx.targets("exec_out")
    iteration = 0
    while iteration < max_iter:
        ctx.refresh_pure()  # the condition usually depends on pure nodes reading changed state
        if not as_bool(ctx.get("condition"), "condition"):
            break
        if iteration >= cap:
            raise NodeError(f"while loop exceeded the loop limit of {cap} iterations")
        ctx.set("iter", iteration)
        for target in body:
            yield [target]
        iteration += 1
    ctx.deactivate("exec_out")
    ctx.activate("done")


@register("control_par_execution", "Parallel Execution", "Control",
          "Starts every flow wired to its outputs and continues on 'Done' once all of them have finished.",
          [inp("exec_in", "Input", "Execution", description="Start all branches."),
           inp("thread_model", "Threads", "String", default="tasks", options={"valid_values": ["tasks", "threads"]},
               description="How branches are scheduled in Flow-Like; accepted and ignored here."),
           out("exec_out", "Parallel Task", "Execution", description="One branch."),
           out("exec_out", "Parallel Task", "Execution", description="One branch."),
           out("exec_done", "Done", "Execution", description="Fires after every branch has finished.")],
          repeatable={"exec_out"})
def control_par_execution(ctx: NodeContext) -> Body:
    # Branches run one after another, in pin order (see docs/engine.md, "Limits").
    ctx.get("thread_model")
    ctx.deactivate("exec_done")
    ctx.activate("exec_out")
    for target in ctx.targets("exec_out"):
        yield [target]
    ctx.deactivate("exec_out")
    ctx.activate("exec_done")


@register("delay", "Delay", "Control", "Waits for the given number of milliseconds before continuing.",
          [inp("exec_in", "Execute", "Execution", description="Start waiting."),
           inp("time", "Time (ms)", "Float", default=1000.0, description="How long to wait, in milliseconds."),
           out("exec_out", "Done", "Execution", description="Fires when the time is up.")],
          long_running=True)
def delay(ctx: NodeContext) -> None:
    requested = as_float(ctx.get("time"), "time")
    if not math.isfinite(requested):
        raise NodeError("input 'time' must be a finite number of milliseconds")
    milliseconds = max(0, int(requested))
    ctx.sleep(milliseconds / 1000.0)
    ctx.activate("exec_out")


@register("reroute", "Reroute", "Control", "Passes its input straight through; used to tidy up wiring.",
          [inp("route_in", "In", "Generic", description="Incoming value or flow."),
           out("route_out", "Out", "Generic", description="The same value or flow.")])
def reroute(ctx: NodeContext) -> None:
    ctx.set("route_out", ctx.get("route_in"))
