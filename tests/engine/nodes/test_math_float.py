"""Math/Float nodes: arithmetic, comparisons, rounding, random numbers and their failures."""

from __future__ import annotations

import math

import pytest

from engine_testkit import failure_of, run_pure, value_of


@pytest.mark.parametrize("node,output,inputs,expected", [
    ("float_add", "sum", {"float1": 1.5, "float2": 2.25}, 3.75),
    ("float_subtract", "difference", {"float1": 1.5, "float2": 2.25}, -0.75),
    ("float_multiply", "product", {"float1": 1.5, "float2": -2}, -3.0),
    ("float_divide", "quotient", {"dividend": 7, "divisor": 2}, 3.5),
    ("float_max", "maximum", {"float1": -1.5, "float2": -2.5}, -1.5),
    ("float_min", "minimum", {"float1": -1.5, "float2": -2.5}, -2.5),
    ("float_abs", "absolute", {"float": -2.5}, 2.5),
    ("float_ceil", "ceiling", {"float": 2.1}, 3),
    ("float_ceil", "ceiling", {"float": -2.9}, -2),
    ("float_floor", "floor", {"float": 2.9}, 2),
    ("float_floor", "floor", {"float": -2.1}, -3),
    ("float_round", "rounded", {"float": 2.5}, 3.0),
    ("float_round", "rounded", {"float": -2.5}, -3.0),
    ("float_round", "rounded", {"float": 0.49999999999999994}, 0.0),
    ("float_round", "rounded", {"float": 3.4}, 3.0),
    ("float_clamp", "clamped", {"float": 5.5, "min": 0, "max": 2.5}, 2.5),
    ("float_clamp", "clamped", {"float": -5.5, "min": 0, "max": 2.5}, 0.0),
    ("float_clamp", "clamped", {"float": 1.5, "min": 0, "max": 2.5}, 1.5),
    ("float_power", "power", {"base": 2, "exponent": 0.5}, math.sqrt(2)),
    ("float_power", "power", {"base": -8, "exponent": 1 / 3}, None),
    ("float_power", "power", {"base": 0, "exponent": -1}, None),
    ("float_power", "power", {"base": 10, "exponent": 400}, None),
    ("float_root", "root", {"radicand": 27, "degree": 3}, 3.0),
    ("float_root", "root", {"radicand": -4, "degree": 2}, None),
    ("float_add", "sum", {"float1": 1.7e308, "float2": 1.7e308}, None),
    ("float_multiply", "product", {"float1": 1e200, "float2": 1e200}, None),
])
def test_float_arithmetic(node, output, inputs, expected):
    """Each node computes Flow-Like's result; results that are not finite become null."""
    got = value_of(run_pure(node, output, **inputs))
    if isinstance(expected, float):
        assert got == pytest.approx(expected, rel=1e-15) and isinstance(got, float)
    else:
        assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("node,output,a,b,expected", [
    ("float_greater_than", "is_greater", 2.5, 1.0, True),
    ("float_greater_than", "is_greater", 1.0, 1.0, False),
    ("float_greater_than_or_equal", "is_greater_or_equal", 1.0, 1.0, True),
    ("float_greater_than_or_equal", "is_greater_or_equal", 0.5, 1.0, False),
    ("float_less_than", "is_less", 0.5, 1.0, True),
    ("float_less_than", "is_less", 1.0, 1.0, False),
    ("float_less_than_or_equal", "is_less_or_equal", 1.0, 1.0, True),
    ("float_less_than_or_equal", "is_less_or_equal", 1.5, 1.0, False),
])
def test_float_comparisons(node, output, a, b, expected):
    """Strict and non-strict comparisons of two floats."""
    assert value_of(run_pure(node, output, float1=a, float2=b)) is expected


@pytest.mark.parametrize("a,b,tolerance,equal", [(1.0, 1.05, 0.1, True), (1.0, 1.2, 0.1, False),
                                                 (1.0, 1.0, 0.0, True), (0.1 + 0.2, 0.3, 0.0, False)])
def test_float_equal_and_unequal_use_the_tolerance(a, b, tolerance, equal):
    """== is |a-b| <= tolerance and != is its exact negation."""
    assert value_of(run_pure("float_equal", "is_equal", float1=a, float2=b, tolerance=tolerance)) is equal
    assert value_of(run_pure("float_unequal", "is_unequal", float1=a, float2=b, tolerance=tolerance)) is not equal


def test_float_random_in_range_stays_in_the_half_open_range():
    """Draws lie in [min, max) and are not all the same."""
    draws = {value_of(run_pure("float_random_in_range", "random_float", min=-1.5, max=-1.0)) for _ in range(50)}
    assert all(-1.5 <= d < -1.0 for d in draws) and len(draws) > 1


def test_float_random_in_range_handles_the_widest_range():
    """A range spanning almost every double does not overflow."""
    got = value_of(run_pure("float_random_in_range", "random_float", min=-1.7e308, max=1.7e308))
    assert -1.7e308 <= got < 1.7e308


@pytest.mark.parametrize("node,output,inputs,message", [
    ("float_divide", "quotient", {"dividend": 1, "divisor": 0}, "division by zero"),
    ("float_divide", "quotient", {"dividend": 1, "divisor": -0.0}, "division by zero"),
    ("float_root", "root", {"radicand": 8, "degree": 0}, "'degree' must be a positive integer"),
    ("float_root", "root", {"radicand": 8, "degree": 1.5}, "'degree' must be a 64-bit integer"),
    ("float_clamp", "clamped", {"float": 1, "min": 3, "max": 2}, "'min' (3.0) must not be greater"),
    ("float_ceil", "ceiling", {"float": 1e19}, "overflows a 64-bit integer"),
    ("float_floor", "floor", {"float": -1e19}, "overflows a 64-bit integer"),
    ("float_random_in_range", "random_float", {"min": 2, "max": 2}, "must be less than input 'max'"),
    ("float_add", "sum", {"float1": "1", "float2": 2}, "input 'float1' must be a number, got string"),
    ("float_less_than", "is_less", {"float1": 1, "float2": True}, "input 'float2' must be a number, got boolean"),
    ("float_equal", "is_equal", {"float1": 1, "float2": 1}, "input 'tolerance' is not connected"),
    ("float_abs", "absolute", {"float": None}, "input 'float' must be a number, got null"),
])
def test_float_bad_inputs_fail_the_node(node, output, inputs, message):
    """Bad arguments fail the node with a message naming the pin or the problem."""
    failure_of(run_pure(node, output, **inputs), message)
