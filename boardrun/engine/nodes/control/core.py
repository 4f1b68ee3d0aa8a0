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
from ...runtime import Timed

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


def _checked_items(ctx: NodeContext, items: list[Any], what: str) -> list[Any]:
    cap = ctx.limits.max_loop_iterations
    if len(items) > cap:
        raise NodeError(f"{what} has {len(items)} elements; the loop limit is {cap}")
    return items


def _each(ctx: NodeContext, items: list[Any]) -> Body:
    """Run the 'exec_out' body once per item with 'value' and 'index' set, then fire 'done'."""
    ctx.activate("exec_out")
    body = ctx.targets("exec_out")
    for position, item in enumerate(items):
        ctx.set("value", item)
        ctx.set("index", position)
        for target in body:
            yield [target]
    ctx.deactivate("exec_out")
    ctx.activate("done")


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
    items = _checked_items(ctx, as_list(ctx.get("array"), "array"), "array")
    ctx.deactivate("done")
    yield from _each(ctx, items)


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


@register("control_for_each_with_break", "For Each (Break)", "Control",
          "Runs the loop body per element until 'Break' reads true, then continues on 'Completed'.",
          [inp("exec_in", "Input", "Execution", description="Start the loop."),
           inp("break", "Break", "Boolean", default=False, description="Checked before the loop and after every body run."),
           inp("array", "Array", "Generic", "Array", options={"enforce_generic_value_type": True},
               description="The elements to visit."),
           out("exec_out", "Loop Body", "Execution", description="The loop body."),
           out("done", "Completed", "Execution", description="Fires after the last element or a break."),
           out("value", "Value", "Generic", description="The current element."),
           out("index", "Index", "Integer", description="Position of the current element, from 0.")])
def control_for_each_with_break(ctx: NodeContext) -> Body:
    def should_break() -> bool:
        ctx.refresh_pure()  # 'break' is usually read through pure nodes from a variable the body sets
        return as_bool(ctx.get("break"), "break")

    ctx.deactivate("done")
    ctx.deactivate("exec_out")
    if not should_break():
        items = _checked_items(ctx, as_list(ctx.get("array"), "array"), "array")
        ctx.activate("exec_out")
        body = ctx.targets("exec_out")
        stop = False
        for position, item in enumerate(items):
            ctx.set("value", item)
            ctx.set("index", position)
            for target in body:
                yield [target]
                if should_break():
                    stop = True
                    break
            if stop:
                break
        ctx.deactivate("exec_out")
    ctx.activate("done")


@register("control_par_for_each", "Parallel For Each", "Control",
          "Runs the loop body once per element, then continues on 'Done'.",
          [inp("exec_in", "Input", "Execution", description="Start the loop."),
           inp("array", "Array", "Generic", "Array", options={"enforce_generic_value_type": True},
               description="The elements to visit."),
           inp("max_concurrent", "Max Concurrent", "Integer", default=30,
               description="How many bodies Flow-Like runs at once (0: no limit); bodies run one by one here."),
           out("exec_out", "For Each Element", "Execution", description="The loop body."),
           out("value", "Value", "Generic", description="The current element."),
           out("index", "Index", "Integer", description="Position of the current element, from 0."),
           out("done", "Done", "Execution", description="Fires after every element's body has run.")])
def control_par_for_each(ctx: NodeContext) -> Body:
    # Bodies run one after another in element order (see docs/engine.md, "Limits"): the values
    # a body sees are exactly its element's, as with Flow-Like's per-body copies.
    ctx.deactivate("done")
    as_int(ctx.get("max_concurrent"), "max_concurrent")
    items = _checked_items(ctx, as_list(ctx.get("array"), "array"), "array")
    ctx.set("value", None)
    ctx.set("index", 0)
    ctx.activate("exec_out")
    body = ctx.targets("exec_out")
    for position, item in enumerate(items):
        for target in body:
            ctx.set("value", item)
            ctx.set("index", position)
            yield [target]
    ctx.deactivate("exec_out")
    ctx.activate("done")


def _table_rows(table: Any) -> list[dict[str, Any]]:
    """A CSVTable ({"headers": [...], "rows": [[cell, ...], ...]}) as one object per row."""
    if not isinstance(table, dict):
        raise NodeError("input 'table' must be a table object with 'headers' and 'rows'")
    headers, rows = table.get("headers"), table.get("rows")
    if not isinstance(headers, list) or not all(isinstance(h, str) for h in headers):
        raise NodeError("input 'table' needs 'headers', an array of strings")
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise NodeError("input 'table' needs 'rows', an array of arrays")
    # Cells are JSON already (a date cell is {"iso": ..., "ms": ...}); a short row reads null.
    return [{h: (row[i] if i < len(row) else None) for i, h in enumerate(headers)} for row in rows]


@register("control_for_each_row", "For Each Row", "Control",
          "Runs the loop body once per row of a table, with the row as an object keyed by column header.",
          [inp("exec_in", "Input", "Execution", description="Start the loop."),
           inp("table", "Table", "Struct", options={"enforce_schema": True}, schema="CSVTable",
               description="The table to walk through."),
           out("exec_out", "For Each Row", "Execution", description="The loop body."),
           out("value", "Row", "Struct", description="The current row, keyed by column header."),
           out("index", "Index", "Integer", description="Position of the current row, from 0."),
           out("done", "Done", "Execution", description="Fires after the last row.")])
def control_for_each_row(ctx: NodeContext) -> Body:
    ctx.deactivate("done")
    rows = _checked_items(ctx, _table_rows(ctx.get("table")), "table")
    yield from _each(ctx, rows)


@register("control_timeout", "Timeout", "Control",
          "Runs its body with a time budget: 'Completed' if it finished in time, else it is abandoned and 'Timed Out' fires.",
          [inp("exec_in", "Execute", "Execution", description="Start the body."),
           inp("timeout_ms", "Timeout (ms)", "Float", default=5000.0, description="The budget in milliseconds."),
           out("exec_body", "Execute", "Execution", description="The body to run under the budget."),
           out("exec_completed", "Completed", "Execution", description="Fires when the body finished in time."),
           out("exec_timed_out", "Timed Out", "Execution", description="Fires when the budget ran out first.")],
          long_running=True)
def control_timeout(ctx: NodeContext) -> Body:
    budget = as_float(ctx.get("timeout_ms"), "timeout_ms")
    if not math.isfinite(budget):
        raise NodeError("input 'timeout_ms' must be a finite number of milliseconds")
    ctx.deactivate("exec_completed")
    ctx.deactivate("exec_timed_out")
    ctx.activate("exec_body")
    body = ctx.targets("exec_body")
    timed_out = False
    if body:
        # One budget for the whole body (all its branches), as in Flow-Like; whole milliseconds.
        timed_out = bool((yield Timed(body, max(0, int(budget)) / 1000.0)))
    ctx.deactivate("exec_body")
    if timed_out:
        ctx.log("Warn", f"the body did not finish within {max(0, int(budget))} ms")
    ctx.activate("exec_timed_out" if timed_out else "exec_completed")
