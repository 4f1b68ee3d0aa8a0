"""Math/Float: floating-point arithmetic, comparisons and random numbers.

Flow-Like writes every float result through serde_json, which turns NaN and the infinities into
null; a result that is not finite is therefore null here too (``_finite``). Conversions to an
Integer output and invalid arguments (division by zero, an empty clamp range) fail the node.
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING, Callable

from ...coerce import as_float, as_int, check_i64
from ...errors import NodeError
from ...registry import PinDef, inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext

_rng = random.SystemRandom()  # OS entropy: nothing to reseed after the fork server forks


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _pow(base: float, exponent: float) -> float | None:
    """IEEE pow as Rust's powf computes it, with non-finite results as null (math.pow raises instead)."""
    try:
        return _finite(math.pow(base, exponent))
    except (ValueError, OverflowError):  # domain error (NaN) or overflow (infinity)
        return None


def _whole(ctx: NodeContext, rounding: Callable[[float], int], what: str) -> int:
    """The input rounded to an Integer; Rust's `as i64` would saturate, we fail on overflow instead."""
    value = as_float(ctx.get("float"), "float")
    if not math.isfinite(value):
        raise NodeError("input 'float' is not a finite number")
    return check_i64(rounding(value), what)


def _pair(ctx: NodeContext) -> tuple[float, float]:
    return as_float(ctx.get("float1"), "float1"), as_float(ctx.get("float2"), "float2")


def _pair_pins(result: str, friendly: str, data_type: str, what: str, tolerance: bool = False) -> list[PinDef]:
    pins = [inp("float1", "Float 1", "Float", description="Left operand."),
            inp("float2", "Float 2", "Float", description="Right operand.")]
    if tolerance:
        pins.append(inp("tolerance", "Tolerance", "Float", description="Largest difference still counted as equal."))
    return [*pins, out(result, friendly, data_type, description=what)]


def _one_pins(result: str, friendly: str, data_type: str, what: str) -> list[PinDef]:
    return [inp("float", "Float", "Float", description="The number."), out(result, friendly, data_type, description=what)]


@register("float_add", "+", "Math/Float", "Adds two numbers as floating point.",
          _pair_pins("sum", "Sum", "Float", "The sum (null if it is not finite)."))
def float_add(ctx: NodeContext) -> None:
    a, b = _pair(ctx)
    ctx.set("sum", _finite(a + b))


@register("float_subtract", "-", "Math/Float", "Takes the second number away from the first.",
          _pair_pins("difference", "Difference", "Float", "The difference (null if it is not finite)."))
def float_subtract(ctx: NodeContext) -> None:
    a, b = _pair(ctx)
    ctx.set("difference", _finite(a - b))


@register("float_multiply", "*", "Math/Float", "Multiplies two numbers.",
          _pair_pins("product", "Product", "Float", "The product (null if it is not finite)."))
def float_multiply(ctx: NodeContext) -> None:
    a, b = _pair(ctx)
    ctx.set("product", _finite(a * b))


@register("float_max", "Max", "Math/Float", "Picks the larger of two numbers.",
          _pair_pins("maximum", "Maximum", "Float", "The larger one."))
def float_max(ctx: NodeContext) -> None:
    ctx.set("maximum", _finite(max(_pair(ctx))))


@register("float_min", "Min", "Math/Float", "Picks the smaller of two numbers.",
          _pair_pins("minimum", "Minimum", "Float", "The smaller one."))
def float_min(ctx: NodeContext) -> None:
    ctx.set("minimum", _finite(min(_pair(ctx))))


@register("float_greater_than", ">", "Math/Float/Comparison", "True when the first number is above the second.",
          _pair_pins("is_greater", "Is Greater", "Boolean", "Whether float1 > float2."))
def float_greater_than(ctx: NodeContext) -> None:
    a, b = _pair(ctx)
    ctx.set("is_greater", a > b)


@register("float_greater_than_or_equal", ">=", "Math/Float/Comparison",
          "True when the first number is not below the second.",
          _pair_pins("is_greater_or_equal", "Is Greater or Equal", "Boolean", "Whether float1 >= float2."))
def float_greater_than_or_equal(ctx: NodeContext) -> None:
    a, b = _pair(ctx)
    ctx.set("is_greater_or_equal", a >= b)


@register("float_less_than", "<", "Math/Float/Comparison", "True when the first number is below the second.",
          _pair_pins("is_less", "Is Less", "Boolean", "Whether float1 < float2."))
def float_less_than(ctx: NodeContext) -> None:
    a, b = _pair(ctx)
    ctx.set("is_less", a < b)


@register("float_less_than_or_equal", "<=", "Math/Float/Comparison",
          "True when the first number is not above the second.",
          _pair_pins("is_less_or_equal", "Is Less or Equal", "Boolean", "Whether float1 <= float2."))
def float_less_than_or_equal(ctx: NodeContext) -> None:
    a, b = _pair(ctx)
    ctx.set("is_less_or_equal", a <= b)


@register("float_equal", "==", "Math/Float/Comparison",
          "True when two numbers differ by no more than the tolerance.",
          _pair_pins("is_equal", "Is Equal", "Boolean", "Whether |float1 - float2| <= tolerance.", tolerance=True))
def float_equal(ctx: NodeContext) -> None:
    a, b = _pair(ctx)
    ctx.set("is_equal", abs(a - b) <= as_float(ctx.get("tolerance"), "tolerance"))


@register("float_unequal", "!=", "Math/Float/Comparison",
          "True when two numbers differ by more than the tolerance.",
          _pair_pins("is_unequal", "Is Unequal", "Boolean", "Whether |float1 - float2| > tolerance.", tolerance=True))
def float_unequal(ctx: NodeContext) -> None:
    a, b = _pair(ctx)
    ctx.set("is_unequal", abs(a - b) > as_float(ctx.get("tolerance"), "tolerance"))


@register("float_divide", "/", "Math/Float", "Divides the dividend by the divisor; a zero divisor fails the node.",
          [inp("dividend", "Dividend", "Float", description="The number to divide."),
           inp("divisor", "Divisor", "Float", description="The number to divide by (not 0)."),
           out("quotient", "Quotient", "Float", description="The quotient (null if it is not finite).")])
def float_divide(ctx: NodeContext) -> None:
    dividend = as_float(ctx.get("dividend"), "dividend")
    divisor = as_float(ctx.get("divisor"), "divisor")
    if divisor == 0.0:
        raise NodeError("division by zero: input 'divisor' is 0")
    ctx.set("quotient", _finite(dividend / divisor))


@register("float_abs", "Abs", "Math/Float", "Drops the sign of a number.",
          _one_pins("absolute", "Absolute", "Float", "The magnitude."))
def float_abs(ctx: NodeContext) -> None:
    ctx.set("absolute", _finite(abs(as_float(ctx.get("float"), "float"))))


@register("float_ceil", "Ceil", "Math/Float", "Rounds up to a whole number.",
          _one_pins("ceiling", "Ceiling", "Integer", "The smallest whole number not below the input."))
def float_ceil(ctx: NodeContext) -> None:
    ctx.set("ceiling", _whole(ctx, math.ceil, "the ceiling"))


@register("float_floor", "Floor", "Math/Float", "Rounds down to a whole number.",
          _one_pins("floor", "Floor", "Integer", "The largest whole number not above the input."))
def float_floor(ctx: NodeContext) -> None:
    ctx.set("floor", _whole(ctx, math.floor, "the floor"))


@register("float_round", "Round", "Math/Float", "Rounds to the nearest whole number, halves away from zero.",
          _one_pins("rounded", "Rounded", "Float", "The rounded number, still a float."))
def float_round(ctx: NodeContext) -> None:
    value = as_float(ctx.get("float"), "float")
    if not math.isfinite(value):
        ctx.set("rounded", None)
        return
    # Python's round() goes to even on halves; Flow-Like (Rust's f64::round) goes away from zero.
    # x - trunc(x) is exact in binary floating point, so the half test has no rounding error.
    whole = float(math.trunc(value))
    if abs(value - whole) >= 0.5:
        whole += math.copysign(1.0, value)
    ctx.set("rounded", math.copysign(whole, value))


@register("float_clamp", "Clamp", "Math/Float", "Limits a number to the range min..max.",
          [inp("float", "Float", "Float", description="The number."),
           inp("min", "Min", "Float", description="Lower bound."),
           inp("max", "Max", "Float", description="Upper bound (not below min)."),
           out("clamped", "Clamped", "Float", description="The number moved into the range.")])
def float_clamp(ctx: NodeContext) -> None:
    value = as_float(ctx.get("float"), "float")
    low, high = as_float(ctx.get("min"), "min"), as_float(ctx.get("max"), "max")
    if not low <= high:  # also catches NaN bounds
        raise NodeError(f"input 'min' ({low}) must not be greater than input 'max' ({high})")
    ctx.set("clamped", _finite(min(max(value, low), high)))


@register("float_power", "Power", "Math/Float", "Raises a base to an exponent.",
          [inp("base", "Base", "Float", description="The base."),
           inp("exponent", "Exponent", "Float", description="The exponent."),
           out("power", "Power", "Float", description="base ** exponent (null if not a finite real number).")])
def float_power(ctx: NodeContext) -> None:
    ctx.set("power", _pow(as_float(ctx.get("base"), "base"), as_float(ctx.get("exponent"), "exponent")))


@register("float_root", "Root", "Math/Float", "Takes the n-th root of a number.",
          [inp("radicand", "Radicand", "Float", description="The number to take the root of."),
           inp("degree", "Degree", "Integer", description="Which root (1 or more)."),
           out("root", "Root", "Float", description="The root (null if not a real number, e.g. of a negative).")])
def float_root(ctx: NodeContext) -> None:
    radicand = as_float(ctx.get("radicand"), "radicand")
    degree = as_int(ctx.get("degree"), "degree")
    if degree <= 0:
        raise NodeError(f"input 'degree' must be a positive integer, got {degree}")
    ctx.set("root", _pow(radicand, 1.0 / degree))


@register("float_random_in_range", "Random Float in Range", "Math/Float/Random",
          "Draws a uniformly distributed number from min (inclusive) to max (exclusive).",
          [inp("min", "Min", "Float", description="Lowest possible value."),
           inp("max", "Max", "Float", description="Upper bound, never returned; above min."),
           out("random_float", "Random Float", "Float", description="The drawn number.")])
def float_random_in_range(ctx: NodeContext) -> None:
    low, high = as_float(ctx.get("min"), "min"), as_float(ctx.get("max"), "max")
    if not low < high:
        raise NodeError(f"input 'min' ({low}) must be less than input 'max' ({high})")
    if not (math.isfinite(low) and math.isfinite(high)):
        raise NodeError("inputs 'min' and 'max' must be finite")
    u = _rng.random()
    # Interpolating (rather than low + u * (high - low)) cannot overflow on huge ranges; rounding can
    # still land on the bounds' far side, so clamp into [low, high).
    value = low * (1.0 - u) + high * u
    ctx.set("random_float", min(max(value, low), math.nextafter(high, low)))
