"""Utils/Map and Utils/Map/By Reference nodes: behaviour and bad input."""

from __future__ import annotations

import pytest

from collections_testkit import fails, ok, run_exec, run_pure, run_with_variable
from engine_testkit import BoardBuilder

_M = {"b": 1, "a": [2], "n": None}


@pytest.mark.parametrize(("node", "output", "inputs", "expected"), [
    ("map_get", "value", {"map_in": _M, "key": "a"}, [2]),
    ("map_get", "found", {"map_in": _M, "key": "a"}, True),
    ("map_get", "value", {"map_in": _M, "key": "zz"}, None),
    ("map_get", "found", {"map_in": _M, "key": "zz"}, False),
    ("map_get", "found", {"map_in": _M, "key": "n"}, True),
    ("map_get", "found", {"map_in": None, "key": "a"}, False),
    ("map_has_key", "has_key", {"map_in": _M, "key": "b"}, True),
    ("map_has_key", "has_key", {"map_in": _M, "key": "B"}, False),
    ("map_keys", "keys", {"map_in": _M}, ["b", "a", "n"]),
    ("map_values", "values", {"map_in": _M}, [1, [2], None]),
    ("map_size", "size", {"map_in": _M}, 3),
    ("map_size", "size", {"map_in": None}, 0),
])
def test_pure_map_nodes(node, output, inputs, expected):
    """The reading map nodes give Flow-Like's answers; an unset (null) map reads as empty."""
    assert ok(run_pure(node, output, **inputs)) == expected


def test_make_map_is_empty_object():
    """make_map gives {}."""
    assert ok(run_pure("make_map", "map_out")) == {}


@pytest.mark.parametrize(("node", "output", "inputs", "expected"), [
    ("map_clear", "map_out", {"map_in": _M}, {}),
    ("map_set", "map_out", {"map_in": _M, "key": "c", "value": 3}, {"b": 1, "a": [2], "n": None, "c": 3}),
    ("map_set", "replaced", {"map_in": _M, "key": "c", "value": 3}, False),
    ("map_set", "map_out", {"map_in": _M, "key": "b", "value": "x"}, {"b": "x", "a": [2], "n": None}),
    ("map_set", "replaced", {"map_in": _M, "key": "b", "value": "x"}, True),
    ("map_set", "map_out", {"map_in": None, "key": "k", "value": 1}, {"k": 1}),
    ("map_remove", "map_out", {"map_in": _M, "key": "b"}, {"a": [2], "n": None}),
    ("map_remove", "value", {"map_in": _M, "key": "a"}, [2]),
    ("map_remove", "was_present", {"map_in": _M, "key": "a"}, True),
    ("map_remove", "was_present", {"map_in": _M, "key": "q"}, False),
    ("map_remove", "map_out", {"map_in": _M, "key": "q"}, _M),
])
def test_exec_map_nodes(node, output, inputs, expected):
    """map_clear, map_set and map_remove compute the new map and their flags, then fire exec_out."""
    assert ok(run_exec(node, output, **inputs)) == expected


def test_map_set_and_remove_keep_key_order():
    """A replaced key keeps its place; removing a key keeps the others in order."""
    assert list(ok(run_exec("map_set", "map_out", map_in=_M, key="b", value=0))) == ["b", "a", "n"]
    assert list(ok(run_exec("map_remove", "map_out", map_in={"x": 1, "y": 2, "z": 3}, key="x"))) == ["y", "z"]


def test_map_set_leaves_its_input_alone():
    """map_set changes a copy: the map it read (held by an impure node) is unchanged."""
    b = BoardBuilder()
    start = b.add("events_simple")
    first = b.add("map_set", map_in={"a": 1}, key="b", value=2)
    second = b.add("map_set", key="a", value="changed")
    ret = b.add("events_generic_return_result")
    pair = b.add("construct_array")
    b.chain(start, first, second, ret)
    b.connect(first, "map_out", second, "map_in")
    b.connect(first, "map_out", pair, "element", dst_nth=0)
    b.connect(second, "map_out", pair, "element", dst_nth=1)
    b.connect(pair, "array_out", ret, "response")
    assert ok(b.run(start)) == [{"a": 1, "b": 2}, {"a": "changed", "b": 2}]


@pytest.mark.parametrize(("node", "output", "inputs", "message"), [
    ("map_get", "value", {"map_in": [1], "key": "a"}, "'map_in' must be a map (JSON object), got array"),
    ("map_get", "value", {"map_in": {}, "key": 1}, "'key' must be a string"),
    ("map_has_key", "has_key", {"map_in": "text", "key": "a"}, "'map_in' must be a map"),
    ("map_keys", "keys", {"map_in": 3}, "'map_in' must be a map"),
    ("map_values", "values", {"map_in": True}, "'map_in' must be a map"),
    ("map_size", "size", {"map_in": [["a", 1]]}, "'map_in' must be a map"),
])
def test_pure_map_nodes_reject_non_maps(node, output, inputs, message):
    """A map input that is neither an object nor null, or a non-string key, fails the node."""
    fails(run_pure(node, output, **inputs), message)


@pytest.mark.parametrize(("node", "output", "inputs", "message"), [
    ("map_set", "map_out", {"map_in": [], "key": "a", "value": 1}, "'map_in' must be a map"),
    ("map_set", "map_out", {"map_in": {}, "key": None, "value": 1}, "'key' must be a string"),
    ("map_remove", "map_out", {"map_in": "x", "key": "a"}, "'map_in' must be a map"),
])
def test_exec_map_nodes_reject_bad_input(node, output, inputs, message):
    """map_set and map_remove fail on a non-map input or a non-string key."""
    fails(run_exec(node, output, **inputs), message)


@pytest.mark.parametrize(("node", "initial", "output", "inputs", "expected"), [
    ("map_set_ref", {"a": 1}, None, {"key": "b", "value": [2]}, [{"a": 1, "b": [2]}, None]),
    ("map_set_ref", None, None, {"key": "b", "value": 2}, [{"b": 2}, None]),
    ("map_clear_ref", {"a": 1}, None, {}, [{}, None]),
    ("map_clear_ref", None, None, {}, [None, None]),
    ("map_remove_ref", {"a": 1, "b": 2}, "value", {"key": "a"}, [{"b": 2}, 1]),
    ("map_remove_ref", {"a": 1}, "was_present", {"key": "a"}, [{}, True]),
    ("map_remove_ref", {"a": 1}, "was_present", {"key": "z"}, [{"a": 1}, False]),
    ("map_remove_ref", None, "value", {"key": "z"}, [None, None]),
])
def test_by_reference_map_nodes_change_the_variable(node, initial, output, inputs, expected):
    """Each By Reference map node changes the map variable (an unset one where Flow-Like allows it)."""
    assert ok(run_with_variable(node, initial, output, **inputs)) == expected


@pytest.mark.parametrize(("node", "initial", "inputs", "message"), [
    ("map_set_ref", [1], {"key": "a", "value": 1}, "does not hold a map"),
    ("map_clear_ref", "x", {}, "does not hold a map"),
    ("map_remove_ref", 3, {"key": "a"}, "does not hold a map"),
    ("map_set_ref", {}, {"key": 5, "value": 1}, "'key' must be a string"),
])
def test_by_reference_map_nodes_reject_bad_input(node, initial, inputs, message):
    """A variable that holds no map, or a non-string key, fails the node."""
    fails(run_with_variable(node, initial, **inputs), message)
