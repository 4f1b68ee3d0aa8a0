"""Utils/Bool: boolean logic."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...coerce import as_bool
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


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
