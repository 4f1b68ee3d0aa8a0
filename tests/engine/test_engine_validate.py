"""Loader and validation: real board format, every kind of problem, allowed editor extras."""

from __future__ import annotations

import pytest

from boardrun.engine import BoardFormatError, default_start_node, load_board, validate_board
from engine_testkit import BoardBuilder, encode


def codes(b: BoardBuilder) -> set[tuple[str | None, str | None, str]]:
    return {(p.node_id, p.pin_id, p.code) for p in validate_board(load_board(b.build()))}


def simple() -> tuple[BoardBuilder, str, str]:
    b = BoardBuilder()
    start = b.add("events_simple")
    log = b.add("log_info", message="x")
    b.chain(start, log)
    return b, start, log


def test_valid_board_has_no_problems_and_ignores_unknown_fields_and_refs():
    """A well-formed board validates cleanly, with refs and unknown newer fields present."""
    b, start, _ = simple()
    data = b.build()
    data["refs"] = {"abc": "a long description"}
    data["execution_mode"] = "Hybrid"
    data["nodes"][start]["fn_refs"] = None
    data["nodes"][start]["description"] = "abc"
    assert validate_board(load_board(data)) == []


def test_default_values_are_decoded_from_bytes():
    """default_value byte arrays decode to JSON values, and Float pins accept integer JSON."""
    b = BoardBuilder()
    node = b.add("delay")
    pin = b.pins(node, "time", "Input")[0]
    pin["default_value"] = list(b"1000")
    board = load_board(b.build())
    assert board.pins[pin["id"]].default == 1000
    assert board.pins[b.pin_id(node, "time", "Input")].default == 1000
    assert validate_board(board) == []


@pytest.mark.parametrize("data", [[], {"nodes": []}, {"nodes": {"a": {"id": 1, "name": "x"}}},
                                  {"nodes": {"a": {"id": "a", "name": "x", "pins": {"p": {"id": "p"}}}}},
                                  {"nodes": {"a": {"id": "a", "name": "x", "pins": {"p": {
                                      "id": "p", "name": "n", "pin_type": "Input", "data_type": "String",
                                      "connected_to": "q"}}}}}])
def test_unreadable_structures_raise_board_format_error(data):
    """Wrong JSON types where ids, names, maps or id lists are expected raise BoardFormatError."""
    with pytest.raises(BoardFormatError):
        load_board(data)


def test_unknown_node_name():
    """A node name that is not in the catalogue is reported with its node id."""
    b, _, log = simple()
    b.nodes[log]["name"] = "teleport"
    assert (log, None, "unknown_node") in codes(b)


def test_duplicated_single_pin_is_extra():
    """A second 'condition' on a branch is an extra pin (only repeatable names may repeat)."""
    b = BoardBuilder()
    br = b.add("control_branch")
    dup = b.add_pin(br, "condition", "Input", "Boolean")
    assert (br, dup, "extra_pin") in codes(b)


def test_editor_extras_are_allowed():
    """Placeholder pins, user event outputs, extra sequence/parallel/gather/equal/bool pins and On Error pins pass."""
    b = BoardBuilder()
    start = b.add("events_generic")
    b.add_pin(start, "user_id", "Output", "String")
    fmt = b.add("string_format")
    b.add_pin(fmt, "name", "Input", "Generic")
    tpl = b.add("string_render_template")
    b.add_pin(tpl, "who", "Input", "Generic")
    for node_name, pin, pin_type, data_type in [("control_sequence", "exec_out", "Output", "Execution"),
                                                ("control_par_execution", "exec_out", "Output", "Execution"),
                                                ("control_gather", "exec_in", "Input", "Execution"),
                                                ("equal_string", "string", "Input", "String"),
                                                ("bool_and", "boolean", "Input", "Boolean"),
                                                ("bool_or", "boolean", "Input", "Boolean")]:
        b.add_pin(b.add(node_name), pin, pin_type, data_type)
    b.on_error(b.add("http_fetch"))
    assert codes(b) == set()


def test_on_error_pins_not_allowed_on_pure_nodes():
    """On Error pins on a pure node are extra pins."""
    b = BoardBuilder()
    node = b.add("int_add")
    b.on_error(node)
    assert {c for _, _, c in codes(b)} == {"extra_pin"}


def test_retyped_pin_mismatch():
    """A non-Generic pin stored with another data type is reported."""
    b, _, log = simple()
    toast = b.pins(log, "toast", "Input")[0]
    toast["data_type"] = "String"
    assert (log, toast["id"], "pin_mismatch") in codes(b)


def test_execution_to_data_is_incompatible():
    """Wiring an Execution output into a data input is an incompatible type problem."""
    b, start, log = simple()
    b.connect(start, "exec_out", log, "toast")
    found = codes(b)
    assert (start, b.pin_id(start, "exec_out", "Output"), "incompatible_types") in found


def test_non_convertible_data_types():
    """String into Integer is incompatible; Integer into Float and anything into Generic are fine."""
    b = BoardBuilder()
    text = b.add("val_to_string")
    add = b.add("int_add")
    fadd = b.add("float_add")
    b.connect(text, "string", add, "integer1")
    b.connect(add, "sum", fadd, "float1")
    ret_like = b.add("array_length")
    b.connect(add, "sum", ret_like, "array")
    found = codes(b)
    assert (text, b.pin_id(text, "string", "Output"), "incompatible_types") in found
    assert not any(c == "incompatible_types" and n == add for n, _, c in found)


def test_execution_output_wired_twice():
    """An Execution output feeding two inputs is reported."""
    b, start, _ = simple()
    other = b.add("log_info")
    b.connect(start, "exec_out", other, "exec_in")
    assert (start, b.pin_id(start, "exec_out", "Output"), "exec_fanout") in codes(b)


def test_wrong_direction_and_bad_default():
    """Output-to-output wiring and undecodable default bytes are reported."""
    b, start, log = simple()
    out_pin = b.pins(log, "exec_out", "Output")[0]
    src = b.pins(start, "exec_out", "Output")[0]
    src["connected_to"].append(out_pin["id"])
    out_pin["depends_on"].append(src["id"])
    b.pins(log, "message", "Input")[0]["default_value"] = [255, 0]
    found = {c for _, _, c in codes(b)}
    assert {"wrong_direction", "bad_default_value"} <= found


def test_pure_cycle():
    """Pure nodes feeding each other in a loop are reported."""
    b = BoardBuilder()
    a, c = b.add("bool_not"), b.add("bool_not")
    b.connect(a, "result", c, "boolean")
    b.connect(c, "result", a, "boolean")
    assert "pure_cycle" in {code for _, _, code in codes(b)}


def test_duplicate_pin_ids():
    """The same pin id used on two nodes is reported."""
    b, start, log = simple()
    pin = b.pins(log, "toast", "Input")[0]
    del b.nodes[log]["pins"][pin["id"]]
    pin["id"] = b.pin_id(start, "exec_out", "Output")
    b.nodes[log]["pins"][pin["id"]] = pin
    assert "duplicate_pin_id" in {code for _, _, code in codes(b)}


def test_invalid_board_run_lists_every_problem():
    """run_board returns failed/invalid_board with all problems instead of raising."""
    b, start, log = simple()
    b.nodes[log]["name"] = "teleport"
    flag = b.add("bool_not")
    b.connect(start, "exec_out", flag, "boolean")
    result = b.run(start)
    assert (result.status, result.reason) == ("failed", "invalid_board")
    assert {p["code"] for p in result.error["problems"]} == {"unknown_node", "incompatible_types", "exec_fanout"}
    assert all(set(p) == {"node_id", "pin_id", "code", "message"} for p in result.error["problems"])


def test_unknown_start_node():
    """Starting at an id that is not a node fails with unknown_start_node."""
    b, _, _ = simple()
    result = b.run("nowhere")
    assert (result.status, result.reason, result.error["node_id"]) == ("failed", "unknown_start_node", "nowhere")


def test_default_start_node():
    """The single start node is found; none or several give None."""
    b, start, _ = simple()
    assert default_start_node(load_board(b.build())) == start
    b.add("events_generic")
    assert default_start_node(load_board(b.build())) is None
    assert default_start_node(load_board({"nodes": {}})) is None


def test_variable_default_encoding():
    """Variable defaults are decoded from bytes; bad bytes are a problem."""
    b, start, _ = simple()
    b.variable("v", {"a": 1})
    board = load_board(b.build())
    assert board.variables["var-v"].default == {"a": 1}
    b.variables["var-v"]["default_value"] = encode("x")[:-1]
    assert "bad_default_value" in {code for _, _, code in codes(b)}
