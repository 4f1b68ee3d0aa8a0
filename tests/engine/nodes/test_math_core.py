"""Math: the eval node computes fasteval expressions with fasteval's operator order and quirks."""

from __future__ import annotations

import math

import pytest

from engine_testkit import run_pure, value_of


@pytest.mark.parametrize("expression,expected", [
    ("1 + 2 * 3", 7.0), ("(1 + 2) * 3", 9.0), ("[1 + 2] * 3", 9.0), ("2^3^2", 512.0), ("-2^2", 4.0),
    ("10 - 2 - 3", 5.0), ("8 / 2 * 4", 16.0), ("7 % -3", 1.0), ("-7 % 3", -1.0), ("2.5e2", 250.0), (".5 + 3.", 3.5),
    ("2k + 3M", 3002000.0), ("5m", 0.005), ("4\u00b5", 4e-6), ("1 < 2", 1.0), ("2 <= 1", 0.0), ("0.1 + 0.2 == 0.3", 1.0),
    ("1 != 1", 0.0), ("3 or 4", 3.0), ("0 || 4", 4.0), ("2 and 5", 5.0), ("0 && 5", 0.0), ("!0", 1.0), ("!2", 0.0),
    ("+3", 3.0), ("- (2 + 1)", -3.0), ("int(-2.7)", -2.0), ("ceil(1.2)", 2.0), ("floor(-1.2)", -2.0),
    ("abs(-3)", 3.0), ("sign(-4)", -1.0), ("log(1000)", 3.0), ("log(2, 8)", 3.0), ("log(e(), e())", 1.0),
    ("round(2.5)", 3.0), ("round(0.01, 1.23456)", 1.23), ("min(1, -2, 3)", -2.0), ("max(1; -2; 3)", 3.0),
    ("pi()", math.pi), ("sin(0) + cos(0)", 1.0), ("atan(1) * 4", math.pi),
    ("1+2*3/4^5%6 + log(100K) + log(e(),100) + [3*(3-3)/3] + (2<3) && 1.23", 1.23),
])
def test_eval_computes_expressions(expression, expected):
    """Operators, precedence order, SI suffixes, logic and built-in functions behave as in fasteval."""
    assert value_of(run_pure("eval", "result", expression=expression)) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("expression", ["1/0", "0/0", "NaN", "-inf", "(-8)^(1/3)", "sinh(1000)", "log(0)", "asin(2)"])
def test_eval_non_finite_results_are_null(expression):
    """Division by zero and domain errors follow IEEE; infinities and NaN come out as null."""
    assert value_of(run_pure("eval", "result", expression=expression)) is None


@pytest.mark.parametrize("expression,message", [
    ("x + 1", "unknown variable 'x'"), ("foo(1)", "unknown function 'foo'"), ("1 +", "unexpected end"),
    ("(1 + 2", "expected ')'"), ("1.2.3", "is not a number"), ("", "unexpected end"), ("2 3", "unexpected text"),
    ("abs(1, 2)", "abs() does not take 2 arguments"), ("min()", "min() does not take 0 arguments"),
    ("print(1)", "print() is not supported"), ("(" * 40 + "1" + ")" * 40, "nested too deeply"),
    ("1+" * 2100 + "1", "longer than 4096 bytes"),
])
def test_eval_bad_expressions_fail_the_node(expression, message):
    """Expressions that cannot be read fail the node with the reason (Flow-Like would log and return 0)."""
    result = run_pure("eval", "result", expression=expression)
    assert result.reason == "node_error" and message in result.error["message"], result.error


def test_eval_requires_a_string():
    """A non-string expression fails the node, naming the pin."""
    result = run_pure("eval", "result", expression=5)
    assert result.reason == "node_error" and "input 'expression' must be a string" in result.error["message"]


def test_eval_rejects_unpaired_surrogates_cleanly():
    """A lone surrogate in the expression is a parse error, not an encoding crash."""
    result = run_pure("eval", "result", expression="1 + \ud800")
    assert result.reason == "node_error" and "cannot be evaluated" in result.error["message"]
