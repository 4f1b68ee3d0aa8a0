"""Control: For Each (Break), Parallel For Each, For Each Row and Timeout."""

from __future__ import annotations

import pytest

from boardrun.engine import RunLimits
from engine_testkit import BoardBuilder, logged


def loop_board(node_name: str, **defaults) -> tuple[BoardBuilder, str, str]:
    """start -> loop; the body logs 'value'/'index'; 'done'/'Completed' logs 'end'."""
    b = BoardBuilder()
    start = b.add("events_simple")
    loop = b.add(node_name, **defaults)
    b.chain(start, loop)
    body = b.add("log_info")
    b.connect(loop, "exec_out", body, "exec_in")
    b.connect(loop, "value", body, "message")
    b.connect(loop, "done", b.add("log_info", message="end"), "exec_in")
    return b, start, loop


def test_for_each_with_break_stops_when_break_turns_true():
    """The body runs until a variable it sets makes 'Break' true; then 'Completed' fires."""
    b, start, loop = loop_board("control_for_each_with_break", array=[1, 2, 3, 4])
    stop = b.variable("stop", False, data_type="Boolean")
    is_three = b.add("int_equal", integer2=3)
    b.connect(loop, "value", is_three, "integer1")
    setter = b.add("variable_set", var_ref=stop)
    b.connect(is_three, "equal", setter, "value_in")
    body_log = b.nodes[[n for n in b.nodes if b.nodes[n]["name"] == "log_info"][0]]["id"]
    b.connect(body_log, "exec_out", setter, "exec_in")
    get = b.add("variable_get", var_ref=stop)
    b.connect(get, "value_ref", loop, "break")
    result, lines = logged(b, start)
    assert result.status == "completed" and lines == ["1", "2", "3", "end"]


def test_for_each_with_break_already_true_skips_the_body():
    """'Break' true before the loop starts goes straight to 'Completed'."""
    b, start, _ = loop_board("control_for_each_with_break", array=[1, 2], **{"break": True})
    assert logged(b, start)[1] == ["end"]


@pytest.mark.parametrize("defaults, message", [
    ({"array": "nope"}, "input 'array' must be an array, got string"),
    ({"array": [1], "break": "no"}, "input 'break' must be a boolean, got string")])
def test_for_each_with_break_bad_inputs(defaults, message):
    """A non-array 'array' or non-boolean 'break' fails the loop node."""
    b, start, _ = loop_board("control_for_each_with_break", **defaults)
    result, _ = logged(b, start)
    assert (result.reason, result.error["message"]) == ("node_error", message)


def test_par_for_each_runs_every_element_in_order():
    """Each element's body sees its own value; 'Done' fires once after all."""
    b, start, _ = loop_board("control_par_for_each", array=["a", "b", "c"], max_concurrent=2)
    result, lines = logged(b, start)
    assert result.status == "completed" and lines == ["a", "b", "c", "end"]


@pytest.mark.parametrize("defaults, message", [
    ({"array": {"a": 1}}, "input 'array' must be an array, got object"),
    ({"array": [1], "max_concurrent": 1.5}, "input 'max_concurrent' must be a 64-bit integer, got float")])
def test_par_for_each_bad_inputs(defaults, message):
    """Bad 'array' or 'max_concurrent' fail the node."""
    b, start, _ = loop_board("control_par_for_each", **defaults)
    assert logged(b, start)[0].error["message"] == message


def test_loops_respect_the_loop_limit():
    """Arrays longer than max_loop_iterations fail the loop node, for each loop kind."""
    for name in ("control_for_each_with_break", "control_par_for_each"):
        b, start, _ = loop_board(name, array=[1, 2, 3])
        result = b.run(start, limits=RunLimits(max_loop_iterations=2))
        assert result.error["message"] == "array has 3 elements; the loop limit is 2", name


TABLE = {"name": "t", "headers": ["id", "when"], "rows": [[1, {"iso": "2026-01-01T00:00:00Z", "ms": 1767225600000}],
                                                         [2]], "source": None}


def test_for_each_row_gives_rows_as_objects():
    """Each row becomes an object keyed by header; a short row reads null for missing cells."""
    b = BoardBuilder()
    start = b.add("events_simple")
    loop = b.add("control_for_each_row", table=TABLE)
    b.chain(start, loop)
    text = b.add("val_to_string", pretty=False)
    b.connect(loop, "value", text, "value")
    log = b.add("log_info")
    b.connect(loop, "exec_out", log, "exec_in")
    b.connect(text, "string", log, "message")
    idx = b.add("log_info")
    b.connect(loop, "done", idx, "exec_in")
    b.connect(loop, "index", idx, "message")
    result, lines = logged(b, start)
    assert result.status == "completed"
    assert lines == ['{"id":1,"when":{"iso":"2026-01-01T00:00:00Z","ms":1767225600000}}', '{"id":2,"when":null}', "1"]


@pytest.mark.parametrize("table, message", [
    ([1], "input 'table' must be a table object with 'headers' and 'rows'"),
    ({"headers": [1], "rows": []}, "input 'table' needs 'headers', an array of strings"),
    ({"headers": ["a"], "rows": [1]}, "input 'table' needs 'rows', an array of arrays")])
def test_for_each_row_bad_tables(table, message):
    """Tables of the wrong shape fail the node with what is wrong."""
    b = BoardBuilder()
    start = b.add("events_simple")
    loop = b.add("control_for_each_row", table=table)
    b.chain(start, loop)
    assert b.run(start).error["message"] == message


def timeout_board(budget_ms: float, body_delay_ms: float) -> tuple[BoardBuilder, str]:
    """start -> timeout(budget) whose body is delay(body_delay) -> log 'body done'."""
    b = BoardBuilder()
    start = b.add("events_simple")
    guard = b.add("control_timeout", timeout_ms=budget_ms)
    b.chain(start, guard)
    wait = b.add("delay", time=body_delay_ms)
    b.connect(guard, "exec_body", wait, "exec_in")
    b.connect(wait, "exec_out", b.add("log_info", message="body done"), "exec_in")
    b.connect(guard, "exec_completed", b.add("log_info", message="completed"), "exec_in")
    b.connect(guard, "exec_timed_out", b.add("log_info", message="timed out"), "exec_in")
    return b, start


def test_timeout_completed_when_the_body_finishes_in_time():
    """A body that finishes within the budget runs to its end and 'Completed' fires."""
    b, start = timeout_board(5000, 0)
    result, lines = logged(b, start)
    assert result.status == "completed" and lines == ["body done", "completed"]


def test_timeout_abandons_a_slow_body():
    """A body still waiting when the budget runs out is abandoned (its rest never runs) and 'Timed Out' fires."""
    b, start = timeout_board(20, 60_000)
    result, lines = logged(b, start)
    assert result.status == "completed" and lines == ["the body did not finish within 20 ms", "timed out"]


def test_timeout_abandons_a_busy_body_and_the_run_goes_on():
    """A body looping without waiting is cut off too; the run continues after the timeout node."""
    b = BoardBuilder()
    start = b.add("events_simple")
    guard = b.add("control_timeout", timeout_ms=20)
    b.chain(start, guard)
    spin = b.add("control_while_loop", condition=True, max_iter=10**9)
    b.connect(guard, "exec_body", spin, "exec_in")
    counter = b.variable("n", 0)
    step = b.add("variable_set", var_ref=counter, value_in=1)
    b.connect(spin, "exec_out", step, "exec_in")
    b.connect(guard, "exec_timed_out", b.add("log_info", message="timed out"), "exec_in")
    result, lines = logged(b, start, limits=RunLimits(max_loop_iterations=10**9))
    assert result.status == "completed" and lines[-1] == "timed out"


def test_timeout_does_not_extend_the_run_deadline():
    """The run's own deadline still ends the run inside a long budget."""
    b, start = timeout_board(60_000, 60_000)
    result = b.run(start, limits=RunLimits(deadline_seconds=0.05))
    assert (result.status, result.reason) == ("failed", "deadline")


def test_timeout_bad_budget_fails():
    """A non-number budget fails the timeout node."""
    b, start = timeout_board("soon", 0)
    assert b.run(start).error["message"] == "input 'timeout_ms' must be a number, got string"
