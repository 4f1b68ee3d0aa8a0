"""Control/Call: Call Reference runs another event of the board as a function."""

from __future__ import annotations

from boardrun.engine import CancelToken, RunLimits
from engine_testkit import BoardBuilder, logged


def call_board(fn_ref: str | None = None) -> tuple[BoardBuilder, str, str, str]:
    """start -> call(fn) -> log 'after'; fn = events_generic with a 'who' output -> log(who)."""
    b = BoardBuilder()
    start = b.add("events_simple", "start")
    fn = b.add("events_generic", "fn")
    who = b.add_pin(fn, "who", "Output", "String")
    fn_log = b.add("log_info", "fn_log")
    b.connect(fn, "exec_out", fn_log, "exec_in")
    b.link(who, b.pin_id(fn_log, "message", "Input"))
    call = b.add("control_call_reference", "call", fn_ref=fn_ref or fn)
    b.add_pin(call, "who", "Input", "String", default="Ada")
    b.chain(start, call)
    b.connect(call, "exec_out", b.add("log_info", "after", message="after"), "exec_in")
    return b, start, fn, call


def test_call_runs_the_function_with_the_inputs_then_continues():
    """The called event's flow sees the caller's extra input as its output, and 'Done' fires afterwards."""
    b, start, _, _ = call_board()
    result, lines = logged(b, start)
    assert result.status == "completed" and lines == ["Ada", "after"]


def test_call_twice_in_a_loop():
    """Calling in a loop runs the function each time with that iteration's value."""
    b, start, _, call = call_board()
    loop = b.add("control_for_each", array=["x", "y"])
    b.pins(start, "exec_out", "Output")[0]["connected_to"] = []
    b.pins(call, "exec_in", "Input")[0]["depends_on"] = []
    b.chain(start, loop)
    b.connect(loop, "exec_out", call, "exec_in")
    b.connect(loop, "value", call, "who")
    assert logged(b, start)[1] == ["x", "after", "y", "after"]


def test_unknown_reference_fails():
    """A reference that names no node fails the call node."""
    b, start, _, _ = call_board("nowhere")
    result = b.run(start)
    assert (result.reason, result.error["message"]) == ("node_error", "function reference 'nowhere' is not a node on this board")


def test_reference_to_a_non_event_fails():
    """Only nodes Flow-Like lets functions reference (events) can be called."""
    b, start, _, _ = call_board("after")
    assert b.run(start).error["message"] == "node 'after' (log_info) cannot be called as a function"


def test_recursive_call_fails_instead_of_looping():
    """A function that calls itself fails at the inner call rather than recursing forever."""
    b = BoardBuilder()
    start = b.add("events_simple", "start")
    fn = b.add("events_simple", "fn")
    call = b.add("control_call_reference", "call", fn_ref="fn")
    inner = b.add("control_call_reference", "inner", fn_ref="fn")
    b.chain(start, call)
    b.chain(fn, inner)
    result = b.run(start)
    assert result.error == {"node_id": "inner", "node_name": "control_call_reference",
                            "message": "function 'fn' is already running: recursive calls are not supported"}


def test_call_respects_step_limit_and_cancellation():
    """Steps inside the called flow count toward the run's step limit; a cancelled run stops."""
    b, start, fn, _ = call_board()
    spin = b.add("control_while_loop", condition=True, max_iter=1000)
    b.pins(fn, "exec_out", "Output")[0]["connected_to"] = []
    b.pins(b.nodes["fn_log"]["id"], "exec_in", "Input")[0]["depends_on"] = []
    b.connect(fn, "exec_out", spin, "exec_in")
    b.connect(spin, "exec_out", b.add("log_info"), "exec_in")
    assert b.run(start, limits=RunLimits(max_steps=50)).reason == "step_limit"
    cancel = CancelToken()
    cancel.cancel()
    assert b.run(start, cancel=cancel).status == "cancelled"


def test_missing_reference_input_fails():
    """Without a function reference the node fails naming the pin."""
    b, start, _, call = call_board()
    b.pins(call, "fn_ref", "Input")[0]["default_value"] = None
    assert b.run(start).error["message"] == "input 'fn_ref' is not connected and has no default value"


def test_call_abandoned_by_a_timeout_can_be_called_again():
    """A call cut off by a Timeout is ended cleanly: calling the same function afterwards works."""
    b = BoardBuilder()
    start = b.add("events_simple", "start")
    fn = b.add("events_simple", "fn")
    gate = b.add("control_flip_flop", "flip")  # first call waits long, the second returns at once
    wait = b.add("delay", "wait", time=60_000)
    b.chain(fn, gate)
    b.connect(gate, "a", wait, "exec_in")
    b.connect(gate, "b", b.add("log_info", "fast", message="second call ran"), "exec_in")
    guard = b.add("control_timeout", "guard", timeout_ms=20)
    first = b.add("control_call_reference", "first", fn_ref="fn")
    second = b.add("control_call_reference", "second", fn_ref="fn")
    b.chain(start, guard)
    b.connect(guard, "exec_body", first, "exec_in")
    b.connect(guard, "exec_timed_out", second, "exec_in")
    result, lines = logged(b, start)
    assert result.status == "completed" and lines[-1] == "second call ran"
