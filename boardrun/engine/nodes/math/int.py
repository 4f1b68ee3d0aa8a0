"""Math/Int: 64-bit integer arithmetic and comparisons."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...coerce import as_int, check_i64
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


def _int_pins(result: str, friendly: str, data_type: str, what: str) -> list:
    return [inp("integer1", "Integer 1", "Integer", description="Left operand."),
            inp("integer2", "Integer 2", "Integer", description="Right operand."),
            out(result, friendly, data_type, description=what)]


def _operands(ctx: NodeContext) -> tuple[int, int]:
    return as_int(ctx.get("integer1"), "integer1"), as_int(ctx.get("integer2"), "integer2")


@register("int_add", "+", "Math/Int", "Sum of two whole numbers.", _int_pins("sum", "Sum", "Integer", "The sum."))
def int_add(ctx: NodeContext) -> None:
    a, b = _operands(ctx)
    ctx.set("sum", check_i64(a + b, "the sum"))


@register("int_subtract", "-", "Math/Int", "Takes the second integer away from the first.",
          _int_pins("difference", "Difference", "Integer", "The difference."))
def int_subtract(ctx: NodeContext) -> None:
    a, b = _operands(ctx)
    ctx.set("difference", check_i64(a - b, "the difference"))


@register("int_less_than", "<", "Math/Int", "True when the first whole number is below the second.",
          _int_pins("less_than", "Less Than", "Boolean", "Whether the first is smaller."))
def int_less_than(ctx: NodeContext) -> None:
    a, b = _operands(ctx)
    ctx.set("less_than", a < b)


@register("int_equal", "==", "Math/Int", "Checks whether two integers are equal.",
          _int_pins("equal", "Equal", "Boolean", "Whether they are equal."))
def int_equal(ctx: NodeContext) -> None:
    a, b = _operands(ctx)
    ctx.set("equal", a == b)
