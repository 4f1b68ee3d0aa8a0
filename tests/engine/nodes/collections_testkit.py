"""Helpers for the string and collection node tests: run one node in a real board, check the outcome."""

from __future__ import annotations

from typing import Any

from engine_testkit import BoardBuilder, run_pure

__all__ = ["ok", "fails", "run_pure", "run_exec", "run_with_variable"]


def ok(result: Any) -> Any:
    """The run's result, after checking that the run completed."""
    assert result.status == "completed", result
    return result.result


def fails(result: Any, text: str) -> dict[str, Any]:
    """The run's error, after checking that a node failed with a message containing ``text``."""
    assert (result.status, result.reason) == ("failed", "node_error"), result
    assert text in result.error["message"], result.error
    return result.error


def run_exec(node_name: str, output: str, **inputs: Any) -> Any:
    """Run start -> node -> return(``output``); the return only runs if the node fired exec_out."""
    b = BoardBuilder()
    start = b.add("events_simple")
    node = b.add(node_name, **inputs)
    ret = b.add("events_generic_return_result")
    b.connect(start, "exec_out", node, "exec_in")
    b.connect(node, "exec_out", ret, "exec_in")
    b.connect(node, output, ret, "response")
    return b.run(start)


def run_with_variable(node_name: str, initial: Any, output: str | None = None, **inputs: Any) -> Any:
    """Run start -> By Reference node on variable 'v' -> return [variable after, ``output``]."""
    b = BoardBuilder()
    var = b.variable("v", initial)
    start = b.add("events_simple")
    node = b.add(node_name, var_ref=var, **inputs)
    read = b.add("variable_get", var_ref=var)
    pair = b.add("construct_array")
    ret = b.add("events_generic_return_result")
    b.chain(start, node, ret)
    b.connect(read, "value_ref", pair, "element", dst_nth=0)
    if output is None:
        b.set_default(pair, "element", None, nth=1)
    else:
        b.connect(node, output, pair, "element", dst_nth=1)
    b.connect(pair, "array_out", ret, "response")
    return b.run(start)
