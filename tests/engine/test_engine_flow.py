"""Control flow, variables, On Error chains, results and the failure semantics."""

from __future__ import annotations

from engine_testkit import BoardBuilder


def append_to(b: BoardBuilder, var: str, value_pin: tuple[str, str] | None = None, literal=None) -> tuple[str, str]:
    """A 'seen.append(value)' fragment: array_push -> variable_set. Returns (first, last) node ids."""
    get = b.add("variable_get", var_ref=var)
    push = b.add("array_push") if value_pin else b.add("array_push", value=literal)
    store = b.add("variable_set", var_ref=var)
    b.connect(get, "value_ref", push, "array_in")
    if value_pin:
        b.connect(value_pin[0], value_pin[1], push, "value")
    b.connect(push, "exec_out", store, "exec_in")
    b.connect(push, "array_out", store, "value_in")
    return push, store


def return_var(b: BoardBuilder, var: str) -> str:
    ret = b.add("events_generic_return_result")
    get = b.add("variable_get", var_ref=var)
    b.connect(get, "value_ref", ret, "response")
    return ret


def test_branch_takes_true_and_false():
    """control_branch fires exactly the matching output."""
    for condition, expected in ((True, "yes"), (False, "no")):
        b = BoardBuilder()
        start = b.add("events_generic")
        br = b.add("control_branch")
        yes, no = b.add("events_generic_return_result", response="yes"), b.add("events_generic_return_result", response="no")
        b.add_pin(start, "flag", "Output", "Boolean")
        b.chain(start, br)
        b.connect(start, "flag", br, "condition")
        b.connect(br, "true", yes, "exec_in")
        b.connect(br, "false", no, "exec_in")
        assert b.run(start, {"flag": condition}).result == expected


def test_for_each_visits_elements_with_pure_nodes_recomputed():
    """for_each runs the body per element; a pure node in the body is re-evaluated each time; done fires after."""
    b = BoardBuilder()
    var = b.variable("seen", [])
    start = b.add("events_generic")
    loop = b.add("control_for_each")
    add = b.add("int_add")
    b.connect(loop, "value", add, "integer1")
    b.connect(loop, "index", add, "integer2")
    first, last = append_to(b, var, (add, "sum"))
    ret = return_var(b, var)
    b.chain(start, loop)
    b.connect(start, "payload", loop, "array")
    b.connect(loop, "exec_out", first, "exec_in")
    b.connect(loop, "done", ret, "exec_in")
    result = b.run(start, [10, 20, 30])
    assert (result.status, result.result) == ("completed", [10, 21, 32])


def test_for_each_empty_array_goes_straight_to_done():
    """An empty array skips the body and fires done."""
    b = BoardBuilder()
    start = b.add("events_generic")
    loop = b.add("control_for_each")
    body = b.add("events_generic_return_result", response="body")
    done = b.add("events_generic_return_result", response="done")
    b.chain(start, loop)
    b.connect(start, "payload", loop, "array")
    b.connect(loop, "exec_out", body, "exec_in")
    b.connect(loop, "done", done, "exec_in")
    assert b.run(start, []).result == "done"


def test_while_loop_stops_at_max_iter():
    """A while loop whose condition stays true runs exactly max_iter times, then done."""
    b = BoardBuilder()
    var = b.variable("seen", [])
    start = b.add("events_simple")
    loop = b.add("control_while_loop", condition=True, max_iter=4)
    first, _ = append_to(b, var, (loop, "iter"))
    ret = return_var(b, var)
    b.chain(start, loop)
    b.connect(loop, "exec_out", first, "exec_in")
    b.connect(loop, "done", ret, "exec_in")
    assert b.run(start).result == [0, 1, 2, 3]


def test_while_loop_condition_reevaluated_from_variables():
    """The condition is recomputed from pure nodes before every pass (counter < 3)."""
    b = BoardBuilder()
    counter = b.variable("counter", 0)
    start = b.add("events_simple")
    loop = b.add("control_while_loop", max_iter=100)
    read = b.add("variable_get", var_ref=counter)
    less = b.add("int_less_than", integer2=3)
    b.connect(read, "value_ref", less, "integer1")
    b.connect(less, "less_than", loop, "condition")
    read2 = b.add("variable_get", var_ref=counter)
    inc = b.add("int_add", integer2=1)
    store = b.add("variable_set", var_ref=counter)
    b.connect(read2, "value_ref", inc, "integer1")
    b.connect(inc, "sum", store, "value_in")
    ret = return_var(b, counter)
    b.chain(start, loop)
    b.connect(loop, "exec_out", store, "exec_in")
    b.connect(loop, "done", ret, "exec_in")
    assert b.run(start).result == 3


def test_while_loop_over_loop_limit_fails():
    """A while loop that would exceed RunLimits.max_loop_iterations fails as a node error."""
    from boardrun.engine import RunLimits

    b = BoardBuilder()
    start = b.add("events_simple")
    loop = b.add("control_while_loop", condition=True, max_iter=1000)
    b.chain(start, loop)
    result = b.run(start, limits=RunLimits(max_loop_iterations=10))
    assert (result.status, result.reason) == ("failed", "node_error")
    assert "loop limit" in result.error["message"]


def test_sequence_runs_outputs_in_order_including_added_pin():
    """Sequence runs each exec_out chain to its end before the next, in pin order."""
    b = BoardBuilder()
    var = b.variable("seen", [])
    start = b.add("events_simple")
    seq = b.add("control_sequence")
    b.add_pin(seq, "exec_out", "Output", "Execution")
    a1, a2 = append_to(b, var, literal="a1")
    a3, _ = append_to(b, var, literal="a2")
    b.connect(a2, "exec_out", a3, "exec_in")
    c1, _ = append_to(b, var, literal="b")
    d1, d2 = append_to(b, var, literal="c")
    ret = return_var(b, var)
    b.connect(d2, "exec_out", ret, "exec_in")
    b.chain(start, seq)
    b.connect(seq, "exec_out", a1, "exec_in", src_nth=0)
    b.connect(seq, "exec_out", c1, "exec_in", src_nth=1)
    b.connect(seq, "exec_out", d1, "exec_in", src_nth=2)
    assert b.run(start).result == ["a1", "a2", "b", "c"]


def test_parallel_and_gather_fire_done_once():
    """par_execution runs all branches; gather continues once all arrived; exec_done fires after."""
    b = BoardBuilder()
    var = b.variable("seen", [])
    start = b.add("events_simple")
    par = b.add("control_par_execution")
    x1, x2 = append_to(b, var, literal="x")
    y1, y2 = append_to(b, var, literal="y")
    gather = b.add("control_gather")
    g1, g2 = append_to(b, var, literal="gathered")
    d1, d2 = append_to(b, var, literal="done")
    ret = return_var(b, var)
    b.chain(start, par)
    b.connect(par, "exec_out", x1, "exec_in", src_nth=0)
    b.connect(par, "exec_out", y1, "exec_in", src_nth=1)
    b.connect(x2, "exec_out", gather, "exec_in", dst_nth=0)
    b.connect(y2, "exec_out", gather, "exec_in", dst_nth=1)
    b.connect(gather, "exec_done", g1, "exec_in")
    b.connect(par, "exec_done", d1, "exec_in")
    b.connect(d2, "exec_out", ret, "exec_in")
    assert b.run(start).result == ["x", "y", "gathered", "done"]


def test_gather_with_unwired_input_never_fires():
    """A gather with an unwired input ends its branch without firing."""
    b = BoardBuilder()
    start = b.add("events_simple")
    gather = b.add("control_gather")
    ret = b.add("events_generic_return_result", response="fired")
    b.connect(start, "exec_out", gather, "exec_in", dst_nth=0)
    b.connect(gather, "exec_done", ret, "exec_in")
    result = b.run(start)
    assert (result.status, result.result) == ("completed", None)


def test_variable_defaults_and_overrides():
    """Variables start from defaults; per-run overrides by id or name replace them; unknown ones are rejected."""
    b = BoardBuilder()
    var = b.variable("greeting", "hello")
    start = b.add("events_simple")
    ret = return_var(b, var)
    b.chain(start, ret)
    assert b.run(start).result == "hello"
    assert b.run(start, variables={"greeting": "hi"}).result == "hi"
    assert b.run(start, variables={var: {"x": 1}}).result == {"x": 1}
    bad = b.run(start, variables={"nope": 1})
    assert (bad.status, bad.reason) == ("failed", "invalid_board")
    assert bad.error["problems"][0]["code"] == "unknown_variable"


def test_variable_without_default_is_null():
    """A variable with no default starts as null."""
    b = BoardBuilder()
    var = b.variable("empty")
    start = b.add("events_simple")
    ret = return_var(b, var)
    b.chain(start, ret)
    assert (b.run(start).status, b.run(start).result) == ("completed", None)


def test_on_error_chain_handles_failure():
    """A failing node with On Error wired runs the handler with the message and the run completes."""
    b = BoardBuilder()
    start = b.add("events_simple")
    bad = b.add("array_push", array_in="not an array", value=1)
    b.on_error(bad)
    after = b.add("events_generic_return_result", response="not reached")
    handler = b.add("events_generic_return_result")
    b.chain(start, bad)
    b.connect(bad, "exec_out", after, "exec_in")
    b.connect(bad, "auto_handle_error", handler, "exec_in")
    b.connect(bad, "auto_handle_error_string", handler, "response")
    result = b.run(start)
    assert (result.status, result.reason) == ("completed", None)
    assert "must be an array" in result.result


def test_unhandled_failure_fails_run_but_other_branches_continue():
    """Deliberate difference: an unhandled node failure makes the run failed; other branches still ran."""
    b = BoardBuilder()
    var = b.variable("seen", [])
    start = b.add("events_simple")
    seq = b.add("control_sequence")
    bad = b.add("int_add")
    log_bad = b.add("log_info")
    b.connect(bad, "sum", log_bad, "message")
    ok1, _ = append_to(b, var, literal="second branch ran")
    b.chain(start, seq)
    b.connect(seq, "exec_out", log_bad, "exec_in", src_nth=0)
    b.connect(seq, "exec_out", ok1, "exec_in", src_nth=1)
    events = []
    result = b.run(start, on_event=events.append)
    assert (result.status, result.reason) == ("failed", "node_error")
    assert result.error["node_id"] == bad and result.error["node_name"] == "int_add"
    assert "integer1" in result.error["message"]
    assert any(e.kind == "node_end" and e.node_id == ok1 and e.ok for e in events)


def test_on_error_in_body_runs_only_for_first_node():
    """Inside a loop body, a deeper node's handler is not run (as in Flow-Like) and the run fails."""
    b = BoardBuilder()
    start = b.add("events_simple")
    loop = b.add("control_for_each", array=[1])
    first = b.add("log_info")
    bad = b.add("array_push", array_in=5, value=1)
    b.on_error(bad)
    handler = b.add("events_generic_return_result", response="handled")
    b.chain(start, loop)
    b.connect(loop, "exec_out", first, "exec_in")
    b.connect(first, "exec_out", bad, "exec_in")
    b.connect(bad, "auto_handle_error", handler, "exec_in")
    result = b.run(start)
    assert (result.status, result.result, result.error["node_id"]) == ("failed", None, bad)


def test_on_error_for_first_body_node_runs():
    """Inside a loop body, the first node's On Error chain does run and the loop goes on."""
    b = BoardBuilder()
    var = b.variable("seen", [])
    start = b.add("events_generic")
    loop = b.add("control_for_each")
    bad = b.add("int_add", integer2=1)
    store = b.add("log_info")
    b.connect(bad, "sum", store, "message")
    b.on_error(store)
    h1, _ = append_to(b, var, (loop, "value"))
    ret = return_var(b, var)
    b.chain(start, loop)
    b.connect(start, "payload", loop, "array")
    b.connect(loop, "exec_out", store, "exec_in")
    b.connect(loop, "value", bad, "integer1")
    b.connect(store, "auto_handle_error", h1, "exec_in")
    b.connect(loop, "done", ret, "exec_in")
    result = b.run(start, [1, "x", 2, "y"])
    assert (result.status, result.result) == ("completed", ["x", "y"])


def test_first_result_wins_and_events_are_emitted():
    """The run's result is the first value emitted; every emission is an event."""
    b = BoardBuilder()
    start = b.add("events_simple")
    seq = b.add("control_sequence")
    r1, r2 = b.add("events_generic_return_result", response=1), b.add("events_generic_return_result", response=2)
    b.chain(start, seq)
    b.connect(seq, "exec_out", r1, "exec_in", src_nth=0)
    b.connect(seq, "exec_out", r2, "exec_in", src_nth=1)
    events = []
    result = b.run(start, on_event=events.append)
    assert result.result == 1
    assert [e.data for e in events if e.kind == "result"] == [1, 2]


def test_node_events_have_duration_and_serialise():
    """node_start/node_end events carry ids, names, ok and duration, and serialise to dicts."""
    import json

    b = BoardBuilder()
    start = b.add("events_simple")
    bad = b.add("array_push", array_in=1, value=1)
    b.chain(start, bad)
    events = []
    b.run(start, on_event=events.append)
    ends = [e for e in events if e.kind == "node_end"]
    assert [(e.node_id, e.node_name, e.ok) for e in ends] == [(start, "events_simple", True), (bad, "array_push", False)]
    assert all(e.duration_ms >= 0 for e in ends)
    errors = [e for e in events if e.kind == "log" and e.level == "Error"]
    assert errors and errors[0].node_id == bad
    json.dumps([e.to_dict() for e in events])


def test_pure_failure_is_reported_on_the_pure_node():
    """When a pure dependency fails, the error names the pure node."""
    b = BoardBuilder()
    start = b.add("events_simple")
    parse = b.add("val_from_string", string="{bad")
    ret = b.add("events_generic_return_result")
    b.chain(start, ret)
    b.connect(parse, "value_ref", ret, "response")
    result = b.run(start)
    assert (result.error["node_id"], result.error["node_name"]) == (parse, "val_from_string")


def test_relay_pins_pass_connections_both_ways():
    """Connections through a layer's relay pins carry execution and data."""
    b = BoardBuilder()
    start = b.add("events_generic")
    ret = b.add("events_generic_return_result")
    exec_relay = b.relay("layer1", "Input", "Execution")
    data_relay = b.relay("layer1", "Output", "Struct")
    b.link(b.pin_id(start, "exec_out", "Output"), exec_relay)
    b.link(exec_relay, b.pin_id(ret, "exec_in", "Input"))
    b.link(b.pin_id(start, "payload", "Output"), data_relay)
    b.link(data_relay, b.pin_id(ret, "response", "Input"))
    result = b.run(start, {"through": "relay"})
    assert (result.status, result.result) == ("completed", {"through": "relay"})
