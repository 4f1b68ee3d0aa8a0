"""Utils/Set and Utils/Set/By Reference nodes: behaviour and bad input."""

from __future__ import annotations

import pytest

from collections_testkit import fails, ok, run_exec, run_pure, run_with_variable


@pytest.mark.parametrize(("node", "output", "inputs", "expected"), [
    ("make_set", "set_out", {}, []),
    ("array_to_set", "set_out", {"array_in": [3, 1, 3, "1", 1.0, True, 1, {"a": 1, "b": 2}, {"b": 2, "a": 1}]},
     [3, 1, "1", 1.0, True, {"a": 1, "b": 2}]),
    ("set_to_array", "array_out", {"set_in": ["a", "b", "a"]}, ["a", "b"]),
    ("set_get_size", "size", {"set_in": [1, 2, 2, 1.0]}, 3),
    ("set_is_empty", "is_empty", {"set_in": []}, True),
    ("set_is_empty", "is_empty", {"set_in": [None]}, False),
    ("set_has", "contains", {"set_in": [[1, 2], "x"], "value": [1, 2]}, True),
    ("set_has", "contains", {"set_in": [1], "value": True}, False),
    ("set_is_subset", "is_subset", {"set_in_1": [1, 2], "set_in_2": [2, 3, 1]}, True),
    ("set_is_subset", "is_subset", {"set_in_1": [1, 4], "set_in_2": [1, 2]}, False),
    ("set_is_subset", "is_subset", {"set_in_1": [], "set_in_2": []}, True),
    ("set_is_superset", "is_superset", {"set_in_1": [1, 2, 3], "set_in_2": [3, 1]}, True),
    ("set_is_superset", "is_superset", {"set_in_1": [1], "set_in_2": [1, 2]}, False),
])
def test_pure_set_nodes(node, output, inputs, expected):
    """The reading set nodes treat their arrays as sets: repeated elements count once, equality is JSON's."""
    assert ok(run_pure(node, output, **inputs)) == expected


@pytest.mark.parametrize(("node", "output", "inputs", "expected"), [
    ("difference", "set_out", {"set_in_1": [1, 2, 3, 2], "set_in_2": [2, 9]}, [1, 3]),
    ("difference", "set_out", {"set_in_1": [1], "set_in_2": [1]}, []),
    ("union", "set_out", {"set_in_1": [1, 2], "set_in_2": [3, 2, 1.5]}, [1, 2, 3, 1.5]),
    ("is_mutual", "is_mutual", {"set_in_1": [1, 2], "set_in_2": [2, 5]}, True),
    ("is_mutual", "is_mutual", {"set_in_1": [1, 2], "set_in_2": [3]}, False),
    ("insert", "set_out", {"set_in": ["a"], "value": "b"}, ["a", "b"]),
    ("insert", "existed_before", {"set_in": ["a"], "value": "b"}, False),
    ("insert", "set_out", {"set_in": ["a", "b"], "value": "a"}, ["a", "b"]),
    ("insert", "existed_before", {"set_in": ["a", "b"], "value": "a"}, True),
    ("set_discard", "set_out", {"set_in": [1, 2, 3], "value": 2}, [1, 3]),
    ("set_discard", "has_removed", {"set_in": [1, 2, 3], "value": 2}, True),
    ("set_discard", "has_removed", {"set_in": [1, 2, 3], "value": 2.0}, False),
    ("set_clear", "set_out", {"set_in": [1, 2]}, []),
    ("set_pop", "set_out", {"set_in": ["only"]}, []),
])
def test_exec_set_nodes(node, output, inputs, expected):
    """Set operations compute Flow-Like's intended result (both inputs are read) and fire exec_out."""
    assert ok(run_exec(node, output, **inputs)) == expected


def test_set_pop_removes_exactly_one_element():
    """set_pop leaves all but one element of the set."""
    remaining = ok(run_exec("set_pop", "set_out", set_in=list(range(10))))
    assert len(remaining) == 9 and set(remaining) < set(range(10))


@pytest.mark.parametrize(("node", "output", "inputs", "message"), [
    ("set_get_size", "size", {"set_in": {"a": 1}}, "'set_in' must be a set (JSON array), got object"),
    ("set_has", "contains", {"set_in": None, "value": 1}, "'set_in' must be a set"),
    ("set_is_subset", "is_subset", {"set_in_1": [], "set_in_2": "ab"}, "'set_in_2' must be a set"),
    ("set_is_superset", "is_superset", {"set_in_1": 1, "set_in_2": []}, "'set_in_1' must be a set"),
    ("array_to_set", "set_out", {"array_in": "abc"}, "'array_in' must be an array"),
    ("set_to_array", "array_out", {"set_in": 5}, "'set_in' must be a set"),
    ("set_is_empty", "is_empty", {"set_in": {}}, "'set_in' must be a set"),
])
def test_pure_set_nodes_reject_non_sets(node, output, inputs, message):
    """A set input that is not a JSON array fails the node, naming the pin."""
    fails(run_pure(node, output, **inputs), message)


@pytest.mark.parametrize(("node", "output", "inputs", "message"), [
    ("difference", "set_out", {"set_in_1": [1], "set_in_2": {"x": 1}}, "'set_in_2' must be a set"),
    ("union", "set_out", {"set_in_1": "a", "set_in_2": []}, "'set_in_1' must be a set"),
    ("is_mutual", "is_mutual", {"set_in_1": [], "set_in_2": None}, "'set_in_2' must be a set"),
    ("insert", "set_out", {"set_in": {}, "value": 1}, "'set_in' must be a set"),
    ("set_discard", "set_out", {"set_in": 3, "value": 1}, "'set_in' must be a set"),
    ("set_pop", "set_out", {"set_in": []}, "empty set"),
])
def test_exec_set_nodes_reject_bad_input(node, output, inputs, message):
    """Changing set nodes fail on a non-set input; popping an empty set fails."""
    fails(run_exec(node, output, **inputs), message)


@pytest.mark.parametrize(("node", "initial", "output", "inputs", "expected"), [
    ("set_insert_ref", [1], "was_new", {"value": 2}, [[1, 2], True]),
    ("set_insert_ref", [1, 2], "was_new", {"value": 1}, [[1, 2], False]),
    ("set_insert_ref", [1], "was_new", {"value": True}, [[1, True], True]),
    ("set_insert_ref", None, "was_new", {"value": "a"}, [["a"], True]),
    ("set_discard_ref", ["a", "b"], "was_present", {"value": "a"}, [["b"], True]),
    ("set_discard_ref", ["a"], "was_present", {"value": "z"}, [["a"], False]),
    ("set_discard_ref", None, "was_present", {"value": "z"}, [None, False]),
    ("set_clear_ref", [1, 2], None, {}, [[], None]),
    ("set_clear_ref", None, None, {}, [None, None]),
])
def test_by_reference_set_nodes_change_the_variable(node, initial, output, inputs, expected):
    """Each By Reference set node changes the set variable (an unset one where Flow-Like allows it)."""
    assert ok(run_with_variable(node, initial, output, **inputs)) == expected


@pytest.mark.parametrize(("node", "initial", "inputs"), [
    ("set_insert_ref", {"a": 1}, {"value": 1}),
    ("set_discard_ref", "abc", {"value": "a"}),
    ("set_clear_ref", 7, {}),
])
def test_by_reference_set_nodes_reject_non_sets(node, initial, inputs):
    """A variable that does not hold an array fails the By Reference set node."""
    fails(run_with_variable(node, initial, **inputs), "does not hold a set")


def test_set_insert_ref_does_not_change_a_set_read_out_earlier():
    """After the set variable was read out (here into a second variable), insert_ref works on a new copy:
    the value read out stays as it was."""
    from engine_testkit import BoardBuilder

    b = BoardBuilder()
    var, other = b.variable("v", ["a", "a"]), b.variable("w", None)
    start = b.add("events_simple")
    first = b.add("set_insert_ref", var_ref=var, value="b")
    alias = b.add("variable_set", var_ref=other)
    second = b.add("set_insert_ref", var_ref=var, value="c")
    pair = b.add("construct_array")
    ret = b.add("events_generic_return_result")
    b.chain(start, first, alias, second, ret)
    b.connect(b.add("variable_get", var_ref=var), "value_ref", alias, "value_in")
    b.connect(b.add("variable_get", var_ref=other), "value_ref", pair, "element", dst_nth=0)
    b.connect(b.add("variable_get", var_ref=var), "value_ref", pair, "element", dst_nth=1)
    b.connect(pair, "array_out", ret, "response")
    assert ok(b.run(start)) == [["a", "b"], ["a", "b", "c"]]
