"""Math/Int nodes: 64-bit arithmetic, comparisons, random numbers and their failures."""

from __future__ import annotations

import pytest

from engine_testkit import failure_of, run_pure, value_of

I64_MAX, I64_MIN = 2**63 - 1, -(2**63)


@pytest.mark.parametrize("node,output,inputs,expected", [
    ("int_multiply", "product", {"integer1": -6, "integer2": 7}, -42),
    ("int_divide", "result", {"integer1": 7, "integer2": 2}, 3.5),
    ("int_divide", "result", {"integer1": -9, "integer2": 3}, -3.0),
    ("int_modulo", "remainder", {"integer1": 7, "integer2": 3}, 1),
    ("int_modulo", "remainder", {"integer1": -7, "integer2": 3}, -1),
    ("int_modulo", "remainder", {"integer1": 7, "integer2": -3}, 1),
    ("int_modulo", "remainder", {"integer1": I64_MIN, "integer2": -1}, 0),
    ("int_power", "power", {"base": -3, "exponent": 3}, -27),
    ("int_power", "power", {"base": 7, "exponent": 0}, 1),
    ("int_power", "power", {"base": -1, "exponent": 10**18 + 1}, -1),
    ("int_power", "power", {"base": 2, "exponent": 62}, 2**62),
    ("int_root", "root", {"radicand": 16, "degree": 4}, 2.0),
    ("int_root", "root", {"radicand": -16, "degree": 2}, None),
    ("int_abs", "absolute", {"integer": -5}, 5),
    ("int_abs", "absolute", {"integer": I64_MAX}, I64_MAX),
    ("int_clamp", "clamped", {"integer": 12, "min": 0, "max": 10}, 10),
    ("int_clamp", "clamped", {"integer": -2, "min": 0, "max": 10}, 0),
    ("int_clamp", "clamped", {"integer": 4, "min": 4, "max": 4}, 4),
    ("int_max", "maximum", {"integer1": -3, "integer2": 2}, 2),
    ("int_min", "minimum", {"integer1": -3, "integer2": 2}, -3),
])
def test_int_arithmetic(node, output, inputs, expected):
    """Each node computes Flow-Like's result with Rust's semantics (truncating remainder, float division)."""
    got = value_of(run_pure(node, output, **inputs))
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("a,b", [(1, 2), (2, 2), (3, 2), (I64_MIN, I64_MAX)])
def test_int_comparisons(a, b):
    """>, >=, <=, <, ==, != agree with the mathematical comparison."""
    for node, output, expected in [("int_greater_than", "greater_than", a > b),
                                   ("int_greater_than_or_equal", "greater_than_or_equal", a >= b),
                                   ("int_less_than_or_equal", "less_than_or_equal", a <= b),
                                   ("int_unequal", "unequal", a != b)]:
        assert value_of(run_pure(node, output, integer1=a, integer2=b)) is expected, node


def test_int_random_in_range_includes_both_ends():
    """Draws from 0..=2 are integers in range and reach both ends over many draws."""
    draws = [value_of(run_pure("int_random_in_range", "random_integer", min=0, max=2)) for _ in range(200)]
    assert set(draws) == {0, 1, 2} and all(type(d) is int for d in draws)


@pytest.mark.parametrize("node,output,inputs,message", [
    ("int_multiply", "product", {"integer1": 2**32, "integer2": 2**31}, "the product overflows a 64-bit integer"),
    ("int_abs", "absolute", {"integer": I64_MIN}, "the absolute value overflows"),
    ("int_power", "power", {"base": 2, "exponent": 63}, "the power overflows"),
    ("int_power", "power", {"base": 3, "exponent": 10**18}, "the power overflows"),
    ("int_power", "power", {"base": 2, "exponent": -1}, "'exponent' must not be negative"),
    ("int_divide", "result", {"integer1": 1, "integer2": 0}, "division by zero"),
    ("int_modulo", "remainder", {"integer1": 1, "integer2": 0}, "division by zero"),
    ("int_root", "root", {"radicand": 8, "degree": -2}, "'degree' must be a positive integer"),
    ("int_clamp", "clamped", {"integer": 1, "min": 5, "max": 4}, "'min' (5) must not be greater"),
    ("int_random_in_range", "random_integer", {"min": 3, "max": 3}, "must be less than input 'max'"),
    ("int_max", "maximum", {"integer1": 1.5, "integer2": 2}, "input 'integer1' must be a 64-bit integer, got float"),
    ("int_min", "minimum", {"integer1": 1, "integer2": 2**63}, "input 'integer2' must be a 64-bit integer"),
    ("int_unequal", "unequal", {"integer1": 1, "integer2": "1"}, "got string"),
])
def test_int_bad_inputs_fail_the_node(node, output, inputs, message):
    """Overflow, zero divisors, bad ranges and wrong types fail the node with a clear message."""
    failure_of(run_pure(node, output, **inputs), message)
