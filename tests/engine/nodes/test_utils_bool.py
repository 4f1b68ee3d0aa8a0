"""Utils/Bool nodes added with the scalar wave: ==, ^ over repeated inputs, and random booleans."""

from __future__ import annotations

import pytest

from engine_testkit import BoardBuilder, run_pure, value_of


def run_repeated(node_name: str, values: list) -> object:
    """Run a node whose 'boolean' input repeats, with one pin per value."""
    b = BoardBuilder()
    start = b.add("events_simple")
    node = b.add(node_name)
    for n, value in enumerate(values):
        if n >= 2:
            b.add_pin(node, "boolean", "Input", "Boolean", default=value)
        else:
            b.set_default(node, "boolean", value, nth=n)
    ret = b.add("events_generic_return_result")
    b.chain(start, ret)
    b.connect(node, "result", ret, "response")
    return b.run(start)


@pytest.mark.parametrize("values,equal,xor", [([False, False], True, False), ([True, False], False, True),
                                              ([True, True], True, False), ([True, True, True], True, True),
                                              ([True, True, False], False, False)])
def test_bool_equal_and_xor_over_all_inputs(values, equal, xor):
    """== is true when every input matches the first; ^ folds XOR over every input (odd count of true)."""
    assert value_of(run_repeated("bool_equal", values)) is equal
    assert value_of(run_repeated("bool_xor", values)) is xor


@pytest.mark.parametrize("node_name", ["bool_equal", "bool_xor"])
def test_bool_nodes_reject_non_booleans(node_name):
    """A non-boolean input fails the node, naming the pin."""
    result = run_repeated(node_name, [True, 1])
    assert result.reason == "node_error" and "input 'boolean' must be a boolean" in result.error["message"]


@pytest.mark.parametrize("probability,expected", [(0.0, {False}), (1.0, {True}), (0.5, {True, False})])
def test_random_bool_follows_the_probability(probability, expected):
    """Probability 0 never gives true, 1 always does, 0.5 gives both over many draws."""
    draws = {value_of(run_pure("random_bool", "value", probability=probability)) for _ in range(100)}
    assert draws == expected


@pytest.mark.parametrize("probability,message", [(1.5, "between 0 and 1"), (-0.1, "between 0 and 1"),
                                                 ("0.5", "must be a number")])
def test_random_bool_rejects_bad_probabilities(probability, message):
    """A probability outside 0..1 or of the wrong type fails the node."""
    result = run_pure("random_bool", "value", probability=probability)
    assert result.reason == "node_error" and message in result.error["message"]
