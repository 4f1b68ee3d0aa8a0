"""Loading boards saved by older Flow-Like versions: missing pins, one-sided connections, obsolete pins."""

from __future__ import annotations

import json

from boardrun.engine import load_board, run_board, validate_board
from engine_testkit import BoardBuilder


def echo_pretty() -> tuple[BoardBuilder, str, str, str]:
    """start -> return(val_to_string({"a": 1})); returns the builder and the three node ids."""
    b = BoardBuilder()
    start = b.add("events_simple", "start")
    text = b.add("val_to_string", "text", value={"a": 1})
    ret = b.add("events_generic_return_result", "ret")
    b.chain(start, ret)
    b.connect(text, "string", ret, "response")
    return b, start, text, ret


def test_missing_pin_is_added_with_its_catalogue_default():
    """A node saved before one of its pins existed gets the pin with the catalogue default, and runs with it."""
    b, start, text, _ = echo_pretty()
    del b.nodes[text]["pins"][b.pin_id(text, "pretty", "Input")]  # val_to_string's 'pretty' defaults to true
    board = load_board(b.build())
    added = board.nodes[text].pins_named("pretty", "Input")
    assert len(added) == 1 and added[0].default is True and added[0].connected_to == added[0].depends_on == ()
    assert any("added missing input pin 'pretty'" in r for r in board.repairs)
    assert validate_board(board) == []
    result = run_board(board, start)
    assert result.status == "completed" and result.result == json.dumps({"a": 1}, indent=2)


def test_added_pin_ids_never_collide_with_existing_ids():
    """The id chosen for an added pin is unique even when another pin already uses the natural choice."""
    b, start, text, ret = echo_pretty()
    del b.nodes[text]["pins"][b.pin_id(text, "pretty", "Input")]
    first = load_board(b.build()).nodes[text].pins_named("pretty", "Input")[0].id
    # Give the return node's response pin exactly that id (kept mirrored on both ends).
    data = b.build()
    response = data["nodes"][ret]["pins"].pop(b.pin_id(ret, "response", "Input"))
    source = data["nodes"][text]["pins"][b.pin_id(text, "string", "Output")]
    source["connected_to"] = [first]
    response["id"] = first
    data["nodes"][ret]["pins"][first] = response
    board = load_board(data)
    again = board.nodes[text].pins_named("pretty", "Input")[0].id
    assert again != first and again not in board.nodes[ret].pins
    assert validate_board(board) == [] and run_board(board, start).status == "completed"


def test_node_missing_every_pin_is_rebuilt_from_the_catalogue():
    """Even a node stored without pins gets all of them (in catalogue order), so a board saved bare still loads."""
    b = BoardBuilder()
    node = b.add("log_progress")
    b.nodes[node]["pins"] = {}
    pins = load_board(b.build()).nodes[node].pins.values()
    assert [(p.name, p.pin_type, p.index) for p in pins] == [
        ("exec_in", "Input", 1), ("id", "Input", 2), ("message", "Input", 3), ("progress", "Input", 4),
        ("exec_out", "Output", 1)]


def test_connection_only_in_connected_to_is_dropped():
    """An Execution output listing an input that does not list it back is not a connection, as in Flow-Like."""
    b = BoardBuilder()
    start = b.add("events_simple")
    log = b.add("log_info", message="should not run")
    b.chain(start, log)
    b.pins(log, "exec_in", "Input")[0]["depends_on"] = []
    board = load_board(b.build())
    out_pin = board.pins[b.pin_id(start, "exec_out", "Output")]
    assert out_pin.connected_to == ()
    assert board.repairs == (f"pin '{out_pin.id}': dropped connected_to '{b.pin_id(log, 'exec_in', 'Input')}' "
                             f"(not recorded on the other end)",)
    events = []
    result = run_board(board, start, on_event=events.append)
    assert result.status == "completed"
    assert log not in {e.node_id for e in events}


def test_connection_only_in_depends_on_is_dropped():
    """A data input listing an output that does not list it back reads its own default instead."""
    b, start, text, ret = echo_pretty()
    b.set_default(ret, "response", "own default")
    b.pins(text, "string", "Output")[0]["connected_to"] = []
    board = load_board(b.build())
    assert board.pins[b.pin_id(ret, "response", "Input")].depends_on == ()
    assert any("dropped depends_on" in r for r in board.repairs)
    assert run_board(board, start).result == "own default"


def test_dangling_ids_are_dropped_on_both_kinds_of_list():
    """Ids that name no pin on the board are removed from connected_to and depends_on."""
    b, start, text, ret = echo_pretty()
    b.pins(start, "exec_out", "Output")[0]["connected_to"].append("ghost-1")
    b.pins(ret, "response", "Input")[0]["depends_on"].append("ghost-2")
    board = load_board(b.build())
    assert "ghost-1" not in board.pins[b.pin_id(start, "exec_out", "Output")].connected_to
    assert "ghost-2" not in board.pins[b.pin_id(ret, "response", "Input")].depends_on
    assert len(board.repairs) == 2 and validate_board(board) == []
    assert run_board(board, start).result == json.dumps({"a": 1}, indent=2)


def test_one_sided_connection_through_a_layer_relay_is_dropped():
    """Relay pins of layers are repaired like node pins."""
    b = BoardBuilder()
    start = b.add("events_simple")
    log = b.add("log_info")
    relay = b.relay("layer-1", "Input", "Execution")
    b.link(b.pin_id(start, "exec_out", "Output"), relay)
    b.link(relay, b.pin_id(log, "exec_in", "Input"))
    b.pins(log, "exec_in", "Input")[0]["depends_on"] = []
    board = load_board(b.build())
    assert board.pins[relay].connected_to == ()
    assert validate_board(board) == []


def test_obsolete_pins_are_kept_and_inert():
    """Pins the catalogue no longer has stay on the node, pass validation and are never read or evaluated."""
    b = BoardBuilder()
    start = b.add("events_simple")
    log = b.add("log_info", message="hi")
    ret = b.add("events_generic_return_result")
    b.chain(start, log, ret)
    failing = b.add("int_add")  # no inputs: evaluating it would fail the run
    old_in = b.add_pin(log, "old_level", "Input", "Integer")
    b.link(b.pin_id(failing, "sum", "Output"), old_in)
    old_out = b.add_pin(log, "old_echo", "Output", "String", default="old default")
    b.link(old_out, b.pin_id(ret, "response", "Input"))
    board = load_board(b.build())
    assert old_in in board.pins and old_out in board.pins and board.repairs == ()
    assert validate_board(board) == []
    result = run_board(board, start)
    # The log node never writes its obsolete output, so the reader falls back to that pin's default.
    assert (result.status, result.result) == ("completed", "old default")


def test_execution_pin_on_a_pure_node_is_still_refused():
    """An unknown Execution pin on a pure node type would make it a scheduled node: still a problem."""
    b = BoardBuilder()
    node = b.add("int_add")
    pin = b.add_pin(node, "old_exec", "Input", "Execution")
    assert [(p.pin_id, p.code) for p in validate_board(load_board(b.build()))] == [(pin, "extra_pin")]


def test_unknown_node_types_and_type_errors_are_still_refused():
    """Repair does not hide what cannot run: unknown node types and wrongly typed pins are reported."""
    b, start, text, ret = echo_pretty()
    b.nodes[text]["name"] = "teleport"
    b.pins(ret, "response", "Input")[0]["data_type"] = "Execution"
    problems = {(p.node_id, p.code) for p in validate_board(load_board(b.build()))}
    assert problems == {(text, "unknown_node"), (text, "incompatible_types")}


def test_reading_an_obsolete_output_without_default_is_refused():
    """An input wired to an obsolete output that has no default could never get a value: a problem."""
    b = BoardBuilder()
    start = b.add("events_simple")
    log = b.add("log_info", "log")
    ret = b.add("events_generic_return_result", "ret")
    b.chain(start, log, ret)
    old_out = b.add_pin(log, "old_echo", "Output", "String")
    b.link(old_out, b.pin_id(ret, "response", "Input"))
    problems = validate_board(load_board(b.build()))
    assert [(p.node_id, p.pin_id, p.code) for p in problems] == [
        ("ret", b.pin_id(ret, "response", "Input"), "obsolete_source")]
    assert "which node type 'log_info' no longer has" in problems[0].message
