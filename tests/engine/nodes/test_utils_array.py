"""Utils/Array, Utils/Array/Batch and Utils/Array/By Reference nodes: behaviour and bad input."""

from __future__ import annotations

import pytest

from collections_testkit import fails, ok, run_exec, run_pure, run_with_variable
from engine_testkit import BoardBuilder


@pytest.mark.parametrize(("node", "output", "inputs", "expected"), [
    ("array_clear", "array_out", {"array_in": [1, 2]}, []),
    ("array_extend", "array_out", {"array_in": [1], "values": [2, [3]]}, [1, 2, [3]]),
    ("array_batch_push", "array_out", {"array_in": [], "items": ["a", None]}, ["a", None]),
    ("array_filter_field", "array_out", {"array_in": [{"a": 1, "b": 2}, {"b": 3}, 7], "field": "a"},
     [{"b": 2}, {"b": 3}, 7]),
    ("array_filter_field", "removed_count", {"array_in": [{"a": 1}, {"a": 2}, {}], "field": "a"}, 2),
    ("array_filter_fields", "array_out", {"array_in": [{"a": 1, "b": 2, "c": 3}, "x"], "fields": ["a", "c", "a"]},
     [{"b": 2}, "x"]),
    ("array_filter_fields", "removed_count", {"array_in": [{"a": 1, "b": 2}, {"b": 1}], "fields": ["a", "b"]}, 3),
    ("array_find_item", "index", {"array_in": ["x", {"k": [1]}, "y"], "item": {"k": [1]}}, 1),
    ("array_find_item", "found", {"array_in": ["x"], "item": "y"}, False),
    ("array_find_item", "index", {"array_in": ["x"], "item": "y"}, -1),
    ("array_pop", "array_out", {"array_in": [1, 2, 3]}, [1, 2]),
    ("array_pop", "value", {"array_in": [1, 2, 3]}, 3),
    ("array_remove_index", "array_out", {"array_in": ["a", "b", "c"], "index": 1}, ["a", "c"]),
    ("array_set_index", "array_out", {"array_in": ["a", "b"], "index": 0, "value": {"z": 1}}, [{"z": 1}, "b"]),
    ("array_batch_remove", "array_out", {"array_in": list("abcde"), "indices": [3, 0, 3]}, ["b", "c", "e"]),
    ("array_batch_remove", "removed", {"array_in": list("abcde"), "indices": [3, 0, 3]}, ["a", "d"]),
    ("array_batch_set", "array_out", {"array_in": [0, 0, 0], "indices": [2, 0, 2], "values": ["x", "y", "z"]},
     ["y", 0, "z"]),
])
def test_exec_array_nodes(node, output, inputs, expected):
    """Each exec array node computes Flow-Like's result and fires exec_out."""
    assert ok(run_exec(node, output, **inputs)) == expected


@pytest.mark.parametrize(("array", "value", "expected"), [
    ([1, 2, 3], 2, True), ([1, 2], 5, False), ([1], True, False), ([True], 1, False), ([1], 1.0, False),
    ([{"a": 1, "b": 2}], {"b": 2, "a": 1}, True), ([0.0], -0.0, True), ([], None, False), ([None], None, True),
])
def test_array_includes_compares_as_json(array, value, expected):
    """array_includes uses JSON equality: booleans are not numbers, 1 is not 1.0, object key order is ignored."""
    assert ok(run_pure("array_includes", "includes", array_in=array, value=value)) is expected


def test_array_shuffle_permutes():
    """array_shuffle returns the same elements, in some order."""
    items = list(range(50))
    shuffled = ok(run_pure("array_shuffle", "array_out", array_in=items))
    assert sorted(shuffled) == items and len(shuffled) == 50


def test_construct_array_takes_every_element_pin_in_order():
    """construct_array collects all element pins, including ones the editor added, in pin order."""
    b = BoardBuilder()
    start = b.add("events_simple")
    node = b.add("construct_array")
    b.set_default(node, "element", "first", nth=0)
    b.set_default(node, "element", {"second": 2}, nth=1)
    b.add_pin(node, "element", "Input", "Generic", default=[3])
    ret = b.add("events_generic_return_result")
    b.chain(start, ret)
    b.connect(node, "array_out", ret, "response")
    assert ok(b.run(start)) == ["first", {"second": 2}, [3]]


def test_changing_nodes_leave_their_input_alone():
    """set_index, pop, remove_index and filter_field change a copy: the array they read is unchanged."""
    b = BoardBuilder()
    start = b.add("events_simple")
    source = b.add("construct_array", element={"a": 1})
    b.set_default(source, "element", [1], nth=1)
    setter = b.add("array_set_index", index=0, value="x")
    pop = b.add("array_pop")
    remove = b.add("array_remove_index", index=0)
    strip = b.add("array_filter_field", field="a")
    push = b.add("array_push", value="p")  # impure: keeps its input's elements
    keep = b.add("array_extend", values=[])
    ret = b.add("events_generic_return_result")
    b.chain(start, push, setter, pop, remove, strip, keep, ret)
    b.connect(source, "array_out", push, "array_in")
    for node in (setter, pop, remove, strip):
        b.connect(push, "array_out", node, "array_in")
    b.connect(push, "array_out", keep, "array_in")
    b.connect(keep, "array_out", ret, "response")
    assert ok(b.run(start)) == [{"a": 1}, [1], "p"]


@pytest.mark.parametrize(("node", "output", "inputs", "message"), [
    ("array_extend", "array_out", {"array_in": {"a": 1}, "values": []}, "'array_in' must be an array"),
    ("array_extend", "array_out", {"array_in": [], "values": "abc"}, "'values' must be an array"),
    ("array_batch_push", "array_out", {"array_in": None, "items": []}, "'array_in' must be an array"),
    ("array_filter_field", "array_out", {"array_in": [{}], "field": 3}, "'field' must be a string"),
    ("array_filter_fields", "array_out", {"array_in": [{}], "fields": ["a", 1]}, "'fields' must be a string"),
    ("array_find_item", "index", {"array_in": "abc", "item": "a"}, "'array_in' must be an array"),
    ("array_pop", "value", {"array_in": []}, "is empty"),
    ("array_remove_index", "array_out", {"array_in": [1], "index": 1}, "'index' is 1, out of bounds"),
    ("array_remove_index", "array_out", {"array_in": [1], "index": -1}, "'index' must not be negative"),
    ("array_set_index", "array_out", {"array_in": [1], "index": 5, "value": 0}, "'index' is 5, out of bounds"),
    ("array_set_index", "array_out", {"array_in": [1], "index": 0.0, "value": 0}, "'index' must be a 64-bit integer"),
    ("array_batch_remove", "array_out", {"array_in": [1, 2], "indices": [0, 2]}, "'indices' is 2, out of bounds"),
    ("array_batch_remove", "array_out", {"array_in": [1, 2], "indices": [-1]}, "must not be negative"),
    ("array_batch_remove", "array_out", {"array_in": [1, 2], "indices": ["0"]}, "'indices' must be a 64-bit integer"),
    ("array_batch_set", "array_out", {"array_in": [1], "indices": [0], "values": [1, 2]}, "equally long"),
    ("array_batch_set", "array_out", {"array_in": [1], "indices": [1], "values": [1]}, "out of bounds"),
])
def test_exec_array_nodes_reject_bad_input(node, output, inputs, message):
    """Wrong types, negative or out-of-range positions and mismatched lengths fail the node, naming the pin."""
    fails(run_exec(node, output, **inputs), message)


def test_pure_array_nodes_reject_non_arrays():
    """array_includes and array_shuffle fail on an input that is not an array."""
    fails(run_pure("array_includes", "includes", array_in={"a": 1}, value=1), "'array_in' must be an array")
    fails(run_pure("array_shuffle", "array_out", array_in="abc"), "'array_in' must be an array")


def test_growing_past_the_array_limit_fails():
    """Extending an array beyond max_array_length fails instead of exhausting memory."""
    from boardrun.engine import RunLimits

    b = BoardBuilder()
    start = b.add("events_simple")
    node = b.add("array_extend", array_in=[1, 2, 3], values=[4, 5])
    b.chain(start, node)
    fails(b.run(start, limits=RunLimits(max_array_length=4)), "more than the limit of 4")
    assert ok(b.run(start, limits=RunLimits(max_array_length=5))) is None


# -- By Reference ------------------------------------------------------------------------
@pytest.mark.parametrize(("node", "initial", "output", "inputs", "expected"), [
    ("array_push_ref", [1], None, {"value": [2]}, [[1, [2]], None]),
    ("array_push_ref", None, None, {"value": 1}, [[1], None]),
    ("array_extend_ref", ["a"], None, {"values": ["b", "c"]}, [["a", "b", "c"], None]),
    ("array_extend_ref", None, None, {"values": ["b"]}, [["b"], None]),
    ("array_clear_ref", [1, 2], None, {}, [[], None]),
    ("array_clear_ref", None, None, {}, [None, None]),
    ("array_pop_ref", [1, 2], "value", {}, [[1], 2]),
    ("array_remove_index_ref", ["a", "b", "c"], "value", {"index": 0}, [["b", "c"], "a"]),
    ("array_set_index_ref", ["a", "b"], None, {"index": 1, "value": "z"}, [["a", "z"], None]),
])
def test_by_reference_nodes_change_the_variable(node, initial, output, inputs, expected):
    """Each By Reference node changes the array variable (an unset one where Flow-Like allows it)."""
    assert ok(run_with_variable(node, initial, output, **inputs)) == expected


@pytest.mark.parametrize(("node", "initial", "inputs", "message"), [
    ("array_push_ref", {"a": 1}, {"value": 1}, "does not hold an array"),
    ("array_clear_ref", "text", {}, "does not hold an array"),
    ("array_pop_ref", None, {}, "does not hold an array"),
    ("array_pop_ref", [], {}, "nothing to pop"),
    ("array_extend_ref", [], {"values": 3}, "'values' must be an array"),
    ("array_remove_index_ref", [1], {"index": 1}, "'index' is 1, out of bounds"),
    ("array_set_index_ref", [1], {"index": -2, "value": 0}, "must not be negative"),
    ("array_set_index_ref", None, {"index": 0, "value": 0}, "does not hold an array"),
])
def test_by_reference_nodes_reject_bad_input(node, initial, inputs, message):
    """A variable of the wrong type, an empty array to pop or a bad index fails the node."""
    fails(run_with_variable(node, initial, **inputs), message)


def test_by_reference_node_needs_an_existing_variable():
    """A var_ref that names no variable fails the node."""
    b = BoardBuilder()
    start = b.add("events_simple")
    b.chain(start, b.add("array_push_ref", var_ref="nope", value=1))
    fails(b.run(start), "no variable with id 'nope'")


def test_by_reference_push_does_not_change_values_read_earlier():
    """A value read from the variable before a push (and kept by an impure node) keeps its old content,
    and the board's default for the variable is the same in the next run."""
    b = BoardBuilder()
    var = b.variable("v", [1])
    start = b.add("events_simple")
    read = b.add("variable_get", var_ref=var)
    keep = b.add("array_extend", values=[])  # impure: holds the array it read
    push = b.add("array_push_ref", var_ref=var, value=2)
    after = b.add("variable_get", var_ref=var)
    pair = b.add("construct_array")
    ret = b.add("events_generic_return_result")
    b.chain(start, keep, push, ret)
    b.connect(read, "value_ref", keep, "array_in")
    b.connect(keep, "array_out", pair, "element", dst_nth=0)
    b.connect(after, "value_ref", pair, "element", dst_nth=1)
    b.connect(pair, "array_out", ret, "response")
    from boardrun.engine import load_board, run_board

    board = load_board(b.build())
    assert ok(run_board(board, start)) == [[1], [1, 2]]
    assert ok(run_board(board, start)) == [[1], [1, 2]]


def test_by_reference_changes_never_reach_values_read_out():
    """push_ref edits the variable in place only while nothing else holds its value: the array copied
    into a second variable between two pushes, and an array stored with variable_set, keep their content."""
    b = BoardBuilder()
    var, other = b.variable("v", None), b.variable("w", None)
    start = b.add("events_simple")
    first = b.add("array_push_ref", var_ref=var, value=1)
    alias = b.add("variable_set", var_ref=other)  # w now holds the very list v holds
    second = b.add("array_push_ref", var_ref=var, value=2)
    stored = b.add("array_extend", array_in=["s"], values=[])
    store = b.add("variable_set", var_ref=var)  # v now holds the list stored's output pin holds
    third = b.add("array_push_ref", var_ref=var, value=3)
    out = b.add("construct_array")
    b.add_pin(out, "element", "Input", "Generic")
    ret = b.add("events_generic_return_result")
    b.chain(start, first, alias, second, stored, store, third, ret)
    b.connect(b.add("variable_get", var_ref=var), "value_ref", alias, "value_in")
    b.connect(stored, "array_out", store, "value_in")
    b.connect(b.add("variable_get", var_ref=other), "value_ref", out, "element", dst_nth=0)
    b.connect(stored, "array_out", out, "element", dst_nth=1)
    b.connect(b.add("variable_get", var_ref=var), "value_ref", out, "element", dst_nth=2)
    b.connect(out, "array_out", ret, "response")
    assert ok(b.run(start)) == [[1], ["s"], ["s", 3]]


def test_by_reference_pushes_in_a_loop_collect_every_value():
    """A for-each loop pushing into a variable by reference ends with every element, in order."""
    b = BoardBuilder()
    var = b.variable("v", [])
    start = b.add("events_simple")
    loop = b.add("control_for_each", array=list(range(1000)))
    push = b.add("array_push_ref", var_ref=var)
    read = b.add("variable_get", var_ref=var)
    ret = b.add("events_generic_return_result")
    b.connect(start, "exec_out", loop, "exec_in")
    b.connect(loop, "exec_out", push, "exec_in")
    b.connect(loop, "value", push, "value")
    b.connect(loop, "done", ret, "exec_in")
    b.connect(read, "value_ref", ret, "response")
    assert ok(b.run(start)) == list(range(1000))


def test_construct_array_needs_a_value_on_every_element_pin():
    """An element pin that is neither connected nor given a default fails construct_array, naming the pin."""
    b = BoardBuilder()
    start = b.add("events_simple")
    node = b.add("construct_array", element=1)
    ret = b.add("events_generic_return_result")
    b.chain(start, ret)
    b.connect(node, "array_out", ret, "response")
    fails(b.run(start), "input 'element' is not connected and has no default value")
