"""Control/Flow: Do N, Do Once, Flip Flop and Gate remember their state across triggers within a run."""

from __future__ import annotations

import pytest

from engine_testkit import BoardBuilder, logged


def loop_into(b: BoardBuilder, items: list, node: str, pin: str) -> tuple[str, str]:
    """start -> for_each(items) whose body triggers ``node.pin``; returns (start, loop)."""
    start = b.add("events_simple")
    loop = b.add("control_for_each", array=items)
    b.chain(start, loop)
    b.connect(loop, "exec_out", node, pin)
    return start, loop


def log_of(b: BoardBuilder, node: str, exec_pin: str, value_pin: str) -> str:
    log = b.add("log_info")
    b.connect(node, exec_pin, log, "exec_in")
    b.connect(node, value_pin, log, "message")
    return log


def test_do_n_passes_n_times_and_counts():
    """Do N lets the first N of five triggers through and reports the counter each time."""
    b = BoardBuilder()
    do_n = b.add("control_do_n", n=3)
    start, _ = loop_into(b, [1, 2, 3, 4, 5], do_n, "exec_in")
    log_of(b, do_n, "then", "index")
    result, lines = logged(b, start)
    assert result.status == "completed" and lines == ["1", "2", "3"]


def test_do_n_reset_starts_counting_again():
    """After 'Reset' fires, Do N lets N more triggers through."""
    b = BoardBuilder()
    do_n = b.add("control_do_n", n=2)
    start = b.add("events_simple")
    seq = b.add("control_sequence")
    b.add_pin(seq, "exec_out", "Output", "Execution")
    loops = [b.add("control_for_each", array=["a", "b", "c"]) for _ in range(2)]
    resetter = b.add("log_warning", message="reset")
    b.chain(start, seq)
    b.connect(seq, "exec_out", loops[0], "exec_in", src_nth=0)
    b.connect(seq, "exec_out", resetter, "exec_in", src_nth=1)
    b.connect(seq, "exec_out", loops[1], "exec_in", src_nth=2)
    for loop in loops:
        b.connect(loop, "exec_out", do_n, "exec_in")
    b.connect(resetter, "exec_out", do_n, "reset")
    log_of(b, do_n, "then", "index")
    result, lines = logged(b, start)
    assert result.status == "completed" and lines == ["1", "2", "reset", "1", "2"]


@pytest.mark.parametrize("n, bad", [(-1, None), ("3", "input 'n' must be a 64-bit integer, got string")])
def test_do_n_bad_inputs(n, bad):
    """A negative N lets nothing through; a non-integer N fails the node naming the pin."""
    b = BoardBuilder()
    do_n = b.add("control_do_n", n=n)
    start, _ = loop_into(b, [1], do_n, "exec_in")
    log_of(b, do_n, "then", "index")
    result, lines = logged(b, start)
    if bad is None:
        assert result.status == "completed" and lines == []
    else:
        assert result.reason == "node_error" and result.error["message"] == bad


@pytest.mark.parametrize("start_closed, expected", [(False, ["True"]), (True, [])])
def test_do_once_fires_only_the_first_time(start_closed, expected):
    """Do Once passes one trigger of three, or none when it starts closed."""
    b = BoardBuilder()
    once = b.add("control_do_once", start_closed=start_closed)
    start, _ = loop_into(b, [1, 2, 3], once, "exec_in")
    log_of(b, once, "then", "has_fired")
    result, lines = logged(b, start)
    assert result.status == "completed" and lines == [m.lower() for m in expected]


def test_do_once_bad_start_closed_fails():
    """A non-boolean 'start_closed' fails the node."""
    b = BoardBuilder()
    once = b.add("control_do_once", start_closed="yes")
    start, _ = loop_into(b, [1], once, "exec_in")
    result, _ = logged(b, start)
    assert result.error["message"] == "input 'start_closed' must be a boolean, got string"


@pytest.mark.parametrize("start_on_a, expected", [(True, ["A", "B", "A"]), (False, ["B", "A", "B"])])
def test_flip_flop_alternates(start_on_a, expected):
    """Flip Flop fires A, B, A (or B, A, B) on three triggers and counts them."""
    b = BoardBuilder()
    flip = b.add("control_flip_flop", start_on_a=start_on_a)
    start, loop = loop_into(b, [1, 2, 3], flip, "exec_in")
    b.connect(flip, "a", b.add("log_info", "logA", message="A"), "exec_in")
    b.connect(flip, "b", b.add("log_info", "logB", message="B"), "exec_in")
    tick = b.add("log_info", "tick")
    b.connect(loop, "done", tick, "exec_in")
    b.connect(flip, "tick", tick, "message")
    result, lines = logged(b, start)
    assert result.status == "completed" and lines == [*expected, "3"]


def test_flip_flop_bad_start_fails():
    """A non-boolean 'start_on_a' fails the node."""
    b = BoardBuilder()
    flip = b.add("control_flip_flop", start_on_a=1)
    start, _ = loop_into(b, [1], flip, "exec_in")
    assert logged(b, start)[0].error["message"] == "input 'start_on_a' must be a boolean, got integer"


def test_gate_passes_while_open_and_obeys_close():
    """Gate passes triggers while open; after 'Close' fires it blocks them."""
    b = BoardBuilder()
    gate = b.add("control_gate")
    start = b.add("events_simple")
    seq = b.add("control_sequence")
    b.add_pin(seq, "exec_out", "Output", "Execution")
    loops = [b.add("control_for_each", array=[1, 2]) for _ in range(2)]
    closer = b.add("log_warning", message="close")
    b.chain(start, seq)
    b.connect(seq, "exec_out", loops[0], "exec_in", src_nth=0)
    b.connect(seq, "exec_out", closer, "exec_in", src_nth=1)
    b.connect(seq, "exec_out", loops[1], "exec_in", src_nth=2)
    for loop in loops:
        b.connect(loop, "exec_out", gate, "enter")
    b.connect(closer, "exec_out", gate, "close")
    b.connect(gate, "exit", b.add("log_info", message="through"), "exec_in")
    result, lines = logged(b, start)
    assert result.status == "completed" and lines == ["through", "through", "close"]


@pytest.mark.parametrize("start_closed, toggle, expected", [(True, False, []), (True, True, ["through"]),
                                                            (False, True, [])])
def test_gate_start_closed_and_toggle(start_closed, toggle, expected):
    """A gate that starts closed blocks; a toggle arriving with the trigger flips it first."""
    b = BoardBuilder()
    gate = b.add("control_gate", start_closed=start_closed)
    start = b.add("events_simple")
    seq = b.add("control_sequence")
    b.chain(start, seq)
    b.connect(seq, "exec_out", gate, "enter", src_nth=0)
    if toggle:
        b.connect(seq, "exec_out", gate, "toggle", src_nth=1)
    b.connect(gate, "exit", b.add("log_info", message="through"), "exec_in")
    result, lines = logged(b, start)
    assert result.status == "completed" and lines == expected


def test_gate_bad_start_closed_fails():
    """A non-boolean 'start_closed' fails the gate."""
    b = BoardBuilder()
    gate = b.add("control_gate", start_closed="no")
    start, _ = loop_into(b, [1], gate, "enter")
    assert logged(b, start)[0].error["message"] == "input 'start_closed' must be a boolean, got string"
