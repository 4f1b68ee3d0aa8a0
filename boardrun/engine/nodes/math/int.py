"""Math/Int: 64-bit integer arithmetic, comparisons and random numbers.

Flow-Like's integers are Rust i64: every result that leaves that range fails the node (Rust would
panic or wrap), and so do a zero divisor and an empty clamp range.
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING

from ...coerce import as_int, check_i64
from ...errors import NodeError
from ...registry import PinDef, inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext

_rng = random.SystemRandom()  # OS entropy: nothing to reseed after the fork server forks


def _int_pins(result: str, friendly: str, data_type: str, what: str) -> list[PinDef]:
    return [inp("integer1", "Integer 1", "Integer", description="Left operand."),
            inp("integer2", "Integer 2", "Integer", description="Right operand."),
            out(result, friendly, data_type, description=what)]


def _operands(ctx: NodeContext) -> tuple[int, int]:
    return as_int(ctx.get("integer1"), "integer1"), as_int(ctx.get("integer2"), "integer2")


def _divisor(ctx: NodeContext) -> tuple[int, int]:
    a, b = _operands(ctx)
    if b == 0:
        raise NodeError("division by zero: input 'integer2' is 0")
    return a, b


@register("int_add", "+", "Math/Int", "Sum of two whole numbers.", _int_pins("sum", "Sum", "Integer", "The sum."))
def int_add(ctx: NodeContext) -> None:
    a, b = _operands(ctx)
    ctx.set("sum", check_i64(a + b, "the sum"))


@register("int_subtract", "-", "Math/Int", "Takes the second integer away from the first.",
          _int_pins("difference", "Difference", "Integer", "The difference."))
def int_subtract(ctx: NodeContext) -> None:
    a, b = _operands(ctx)
    ctx.set("difference", check_i64(a - b, "the difference"))


@register("int_multiply", "*", "Math/Int", "Product of two whole numbers.",
          _int_pins("product", "Product", "Integer", "The product."))
def int_multiply(ctx: NodeContext) -> None:
    a, b = _operands(ctx)
    ctx.set("product", check_i64(a * b, "the product"))


@register("int_divide", "/", "Math/Int", "Divides the first integer by the second, giving a float.",
          _int_pins("result", "Result", "Float", "The quotient as a float."))
def int_divide(ctx: NodeContext) -> None:
    a, b = _divisor(ctx)
    # Both operands become floats first, as in Flow-Like (not Python's exact int/int division).
    ctx.set("result", float(a) / float(b))


@register("int_modulo", "%", "Math/Int", "Remainder of dividing the first integer by the second.",
          _int_pins("remainder", "Remainder", "Integer", "The remainder; it has the sign of integer1."))
def int_modulo(ctx: NodeContext) -> None:
    a, b = _divisor(ctx)
    # Rust's % truncates (the remainder follows the dividend's sign); Python's % floors.
    remainder = abs(a) % abs(b)
    ctx.set("remainder", remainder if a >= 0 else -remainder)


@register("int_power", "Power", "Math/Int", "Raises a whole number to a non-negative whole power.",
          [inp("base", "Base", "Integer", description="The base."),
           inp("exponent", "Exponent", "Integer", description="The exponent (0 or more)."),
           out("power", "Power", "Integer", description="base ** exponent.")])
def int_power(ctx: NodeContext) -> None:
    base = as_int(ctx.get("base"), "base")
    exponent = as_int(ctx.get("exponent"), "exponent")
    if exponent < 0:
        raise NodeError(f"input 'exponent' must not be negative, got {exponent}")
    if abs(base) > 1 and exponent >= 64:  # certain overflow: refuse before building a huge number
        raise NodeError("the power overflows a 64-bit integer")
    ctx.set("power", check_i64(base**exponent, "the power"))


@register("int_root", "Root", "Math/Int", "Takes the n-th root of a whole number, giving a float.",
          [inp("radicand", "Radicand", "Integer", description="The number to take the root of."),
           inp("degree", "Degree", "Integer", description="Which root (1 or more)."),
           out("root", "Root", "Float", description="The root (null if not a real number, e.g. of a negative).")])
def int_root(ctx: NodeContext) -> None:
    radicand = as_int(ctx.get("radicand"), "radicand")
    degree = as_int(ctx.get("degree"), "degree")
    if degree <= 0:
        raise NodeError(f"input 'degree' must be a positive integer, got {degree}")
    try:
        ctx.set("root", math.pow(float(radicand), 1.0 / degree))
    except ValueError:  # even root of a negative: NaN in Flow-Like, which it writes as null
        ctx.set("root", None)


@register("int_abs", "Absolute", "Math/Int", "Drops the sign of a whole number.",
          [inp("integer", "Integer", "Integer", description="The number."),
           out("absolute", "Absolute", "Integer", description="Its magnitude.")])
def int_abs(ctx: NodeContext) -> None:
    ctx.set("absolute", check_i64(abs(as_int(ctx.get("integer"), "integer")), "the absolute value"))


@register("int_clamp", "Clamp", "Math/Int", "Limits a whole number to the range min..max.",
          [inp("integer", "Integer", "Integer", description="The number."),
           inp("min", "Min", "Integer", description="Lower bound."),
           inp("max", "Max", "Integer", description="Upper bound (not below min)."),
           out("clamped", "Clamped", "Integer", description="The number moved into the range.")])
def int_clamp(ctx: NodeContext) -> None:
    value = as_int(ctx.get("integer"), "integer")
    low, high = as_int(ctx.get("min"), "min"), as_int(ctx.get("max"), "max")
    if low > high:
        raise NodeError(f"input 'min' ({low}) must not be greater than input 'max' ({high})")
    ctx.set("clamped", min(max(value, low), high))


@register("int_max", "Max", "Math/Int", "Picks the larger of two whole numbers.",
          _int_pins("maximum", "Maximum", "Integer", "The larger one."))
def int_max(ctx: NodeContext) -> None:
    ctx.set("maximum", max(_operands(ctx)))


@register("int_min", "Min", "Math/Int", "Picks the smaller of two whole numbers.",
          _int_pins("minimum", "Minimum", "Integer", "The smaller one."))
def int_min(ctx: NodeContext) -> None:
    ctx.set("minimum", min(_operands(ctx)))


@register("int_less_than", "<", "Math/Int", "True when the first whole number is below the second.",
          _int_pins("less_than", "Less Than", "Boolean", "Whether the first is smaller."))
def int_less_than(ctx: NodeContext) -> None:
    a, b = _operands(ctx)
    ctx.set("less_than", a < b)


@register("int_less_than_or_equal", "<=", "Math/Int", "True when the first whole number is not above the second.",
          _int_pins("less_than_or_equal", "Less Than or Equal", "Boolean", "Whether integer1 <= integer2."))
def int_less_than_or_equal(ctx: NodeContext) -> None:
    a, b = _operands(ctx)
    ctx.set("less_than_or_equal", a <= b)


@register("int_greater_than", ">", "Math/Int", "True when the first whole number is above the second.",
          _int_pins("greater_than", "Greater Than", "Boolean", "Whether integer1 > integer2."))
def int_greater_than(ctx: NodeContext) -> None:
    a, b = _operands(ctx)
    ctx.set("greater_than", a > b)


@register("int_greater_than_or_equal", ">=", "Math/Int", "True when the first whole number is not below the second.",
          _int_pins("greater_than_or_equal", "Greater Than or Equal", "Boolean", "Whether integer1 >= integer2."))
def int_greater_than_or_equal(ctx: NodeContext) -> None:
    a, b = _operands(ctx)
    ctx.set("greater_than_or_equal", a >= b)


@register("int_equal", "==", "Math/Int", "Checks whether two integers are equal.",
          _int_pins("equal", "Equal", "Boolean", "Whether they are equal."))
def int_equal(ctx: NodeContext) -> None:
    a, b = _operands(ctx)
    ctx.set("equal", a == b)


@register("int_unequal", "!=", "Math/Int", "Checks whether two integers differ.",
          _int_pins("unequal", "Unequal", "Boolean", "Whether they differ."))
def int_unequal(ctx: NodeContext) -> None:
    a, b = _operands(ctx)
    ctx.set("unequal", a != b)


@register("int_random_in_range", "Random Integer in Range", "Math/Int/Random",
          "Draws a uniformly distributed whole number from min to max, both included.",
          [inp("min", "Min", "Integer", description="Lowest possible value."),
           inp("max", "Max", "Integer", description="Highest possible value; above min."),
           out("random_integer", "Random Integer", "Integer", description="The drawn number.")])
def int_random_in_range(ctx: NodeContext) -> None:
    low, high = as_int(ctx.get("min"), "min"), as_int(ctx.get("max"), "max")
    if low >= high:  # as in Flow-Like, even though both ends are included
        raise NodeError(f"input 'min' ({low}) must be less than input 'max' ({high})")
    ctx.set("random_integer", _rng.randint(low, high))
