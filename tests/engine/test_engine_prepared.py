"""A loaded board is immutable; its validation and prepared form are computed once and reused by
later runs of the same Board object, while every run keeps its own state."""

from __future__ import annotations

import dataclasses

import pytest

from boardrun.engine import CancelToken, RunLimits, load_board, run_board, validate_board
from boardrun.engine.runtime import prepared_form
from engine_testkit import BoardBuilder


def summing_board() -> tuple[BoardBuilder, str]:
    """events_generic -> for-each(payload) -> total = total + element -> return total."""
    b = BoardBuilder()
    total = b.variable("total", 0, data_type="Integer")
    start = b.add("events_generic")
    loop = b.add("control_for_each")
    body = b.add("variable_set", var_ref=total)
    add = b.add("int_add")
    read = b.add("variable_get", var_ref=total)
    result_read = b.add("variable_get", var_ref=total)
    ret = b.add("events_generic_return_result")
    b.connect(start, "exec_out", loop, "exec_in")
    b.connect(start, "payload", loop, "array")
    b.connect(loop, "exec_out", body, "exec_in")
    b.connect(read, "value_ref", add, "integer1")
    b.connect(loop, "value", add, "integer2")
    b.connect(add, "sum", body, "value_in")
    b.connect(loop, "done", ret, "exec_in")
    b.connect(result_read, "value_ref", ret, "response")
    return b, start


def test_board_is_immutable_after_load():
    b, _ = summing_board()
    board = load_board(b.build())
    node = next(iter(board.nodes.values()))
    pin = next(iter(node.pins.values()))
    with pytest.raises(dataclasses.FrozenInstanceError):
        board.log_level = "Fatal"  # type: ignore[misc]
    with pytest.raises(TypeError):
        board.nodes["extra"] = node  # type: ignore[index]
    with pytest.raises(TypeError):
        board.pins[pin.id] = pin  # type: ignore[index]
    with pytest.raises(TypeError):
        node.pins[pin.id] = pin  # type: ignore[index]
    with pytest.raises(AttributeError):
        pin.default = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        node.name = "teleport"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        board.variables["var-total"].default = 7  # type: ignore[misc]


def test_pins_are_in_canonical_order():
    """Inputs before outputs, each by index, whatever order the JSON map had."""
    b = BoardBuilder()
    node = b.add("int_add")
    b.nodes[node]["pins"] = dict(reversed(list(b.nodes[node]["pins"].items())))
    pins = list(load_board(b.build()).nodes[node].pins.values())
    assert [(p.pin_type, p.index) for p in pins] == sorted((p.pin_type, p.index) for p in pins)
    assert pins[0].pin_type == "Input" and pins[-1].pin_type == "Output"


def test_prepared_form_is_computed_once_per_board_object():
    b, start = summing_board()
    board = load_board(b.build())
    first = run_board(board, start, [1, 2, 3])
    problems, prepared = prepared_form(board)
    assert problems == [] and prepared is not None
    second = run_board(board, start, [1, 2, 3])
    assert prepared_form(board)[1] is prepared
    # A new Board object (even from the same JSON) gets its own prepared form.
    other = load_board(b.build())
    assert run_board(other, start, [1, 2, 3]).result == 6
    assert prepared_form(other)[1] is not prepared
    assert first.result == second.result == 6


def test_runs_of_one_board_do_not_share_state():
    """Variables, pin values and step counts start afresh on every run of a cached board."""
    b, start = summing_board()
    board = load_board(b.build())
    results = [run_board(board, start, payload) for payload in ([1, 2, 3], [10], [], [1, 2, 3])]
    assert [r.result for r in results] == [6, 10, 0, 6]
    assert results[0].steps == results[3].steps
    assert results[0].to_dict()["status"] == "completed"
    # Overrides apply to one run only.
    assert run_board(board, start, [1], variables={"total": 100}).result == 101
    assert run_board(board, start, [1]).result == 1


def test_gather_fires_once_per_run_on_every_run():
    """Pin values a node writes to its own inputs (gather) do not leak into the next run."""
    b = BoardBuilder()
    start = b.add("events_simple")
    seq = b.add("control_sequence")
    gather = b.add("control_gather")
    ret = b.add("events_generic_return_result", response="gathered")
    b.connect(start, "exec_out", seq, "exec_in")
    b.connect(seq, "exec_out", gather, "exec_in", src_nth=0, dst_nth=0)
    b.connect(seq, "exec_out", gather, "exec_in", src_nth=1, dst_nth=1)
    b.connect(gather, "exec_done", ret, "exec_in")
    board = load_board(b.build())
    for _ in range(3):
        result = run_board(board, start)
        assert (result.status, result.result) == ("completed", "gathered")


def test_validation_is_cached_and_returned_as_a_fresh_list():
    b, start = summing_board()
    b.nodes[start]["name"] = "teleport"
    board = load_board(b.build())
    problems = validate_board(board)
    assert [p.code for p in problems] == ["unknown_node"]
    problems.clear()
    assert [p.code for p in validate_board(board)] == ["unknown_node"]
    for _ in range(2):
        result = run_board(board, start)
        assert (result.status, result.reason) == ("failed", "invalid_board")
        assert [p["code"] for p in result.error["problems"]] == ["unknown_node"]


def test_variable_override_problems_are_per_run():
    b, start = summing_board()
    board = load_board(b.build())
    bad = run_board(board, start, [1], variables={"nope": 1})
    assert (bad.status, bad.reason) == ("failed", "invalid_board")
    assert run_board(board, start, [1]).status == "completed"


def test_limits_cancellation_and_events_apply_to_cached_runs():
    b, start = summing_board()
    board = load_board(b.build())
    assert run_board(board, start, [1] * 50).status == "completed"
    limited = run_board(board, start, [1] * 50, limits=RunLimits(max_steps=10))
    assert (limited.status, limited.reason, limited.steps) == ("failed", "step_limit", 11)
    token = CancelToken()
    token.cancel()
    cancelled = run_board(board, start, [1], cancel=token)
    assert (cancelled.status, cancelled.reason) == ("cancelled", "cancelled")
    events: list = []
    observed = run_board(board, start, [1, 2], on_event=events.append)
    assert observed.result == 3
    starts = [e for e in events if e.kind == "node_start"]
    ends = [e for e in events if e.kind == "node_end"]
    assert len(starts) == len(ends) == observed.steps
    assert run_board(board, start, [1, 2]).result == 3  # no events given: none needed
