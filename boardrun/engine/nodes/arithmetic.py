"""Integer and float arithmetic, boolean logic and the current time."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from ..coerce import as_bool, as_float, as_int, check_i64
from ..registry import inp, out, register

if TYPE_CHECKING:
    from ..runtime import NodeContext


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


@register("float_add", "+", "Math/Float", "Adds two numbers as floating point.",
          [inp("float1", "Float 1", "Float", description="Left operand."),
           inp("float2", "Float 2", "Float", description="Right operand."),
           out("sum", "Sum", "Float", description="The sum (null if it is not finite).")])
def float_add(ctx: NodeContext) -> None:
    total = as_float(ctx.get("float1"), "float1") + as_float(ctx.get("float2"), "float2")
    ctx.set("sum", total if math.isfinite(total) else None)


def _bool_pins(what: str) -> list:
    return [inp("boolean", "Boolean", "Boolean", default=False, description="An operand."),
            inp("boolean", "Boolean", "Boolean", default=False, description="An operand."),
            out("result", "Result", "Boolean", description=what)]


@register("bool_and", "And", "Utils/Bool", "True when all inputs are true.", _bool_pins("Whether all are true."),
          repeatable={"boolean"})
def bool_and(ctx: NodeContext) -> None:
    result = True
    for value in ctx.get_each("boolean"):
        if not as_bool(value, "boolean"):
            result = False
            break
    ctx.set("result", result)


@register("bool_or", "Or", "Utils/Bool", "True when at least one input is true.",
          _bool_pins("Whether any is true."), repeatable={"boolean"})
def bool_or(ctx: NodeContext) -> None:
    result = False
    for value in ctx.get_each("boolean"):
        if as_bool(value, "boolean"):
            result = True
            break
    ctx.set("result", result)


@register("bool_not", "!", "Utils/Bool", "Inverts a boolean.",
          [inp("boolean", "Boolean", "Boolean", default=False, description="The value to invert."),
           out("result", "Result", "Boolean", description="The opposite.")])
def bool_not(ctx: NodeContext) -> None:
    ctx.set("result", not as_bool(ctx.get("boolean"), "boolean"))


@register("utils_datetime_now", "Now", "Utils/DateTime", "Reads the current UTC time as an RFC 3339 string.",
          [inp("exec_in", "Input", "Execution", description="Read the clock."),
           out("exec_out", "Output", "Execution", description="Fires after reading."),
           out("date", "Date", "Date", description="The current time, e.g. 2026-01-02T03:04:05.123456Z.")])
def utils_datetime_now(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    ctx.set("date", datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    ctx.activate("exec_out")
