"""Utils/Bool: boolean logic."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from ...coerce import as_bool, as_float
from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext

_rng = random.SystemRandom()  # OS entropy: nothing to reseed after the fork server forks


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


@register("bool_equal", "==", "Utils/Bool", "True when all inputs have the same value.",
          _bool_pins("Whether every input equals the first."), repeatable={"boolean"})
def bool_equal(ctx: NodeContext) -> None:
    first = None
    result = True
    for value in ctx.get_each("boolean"):
        value = as_bool(value, "boolean")
        if first is None:
            first = value
        elif value != first:
            result = False
            break
    ctx.set("result", result if first is not None else False)


@register("bool_xor", "^", "Utils/Bool", "Exclusive or over all inputs: true when an odd number of them are true.",
          _bool_pins("The XOR of all inputs."), repeatable={"boolean"})
def bool_xor(ctx: NodeContext) -> None:
    result = False
    for value in ctx.get_each("boolean"):
        result ^= as_bool(value, "boolean")
    ctx.set("result", result)


@register("random_bool", "Random Boolean", "Utils/Bool", "Draws true with the given probability.",
          [inp("probability", "Probability", "Float", default=0.5, options={"range": [0.0, 1.0]},
               description="Chance of true, from 0 to 1."),
           out("value", "Value", "Boolean", description="The drawn boolean.")])
def random_bool(ctx: NodeContext) -> None:
    probability = as_float(ctx.get("probability"), "probability")
    if not 0.0 <= probability <= 1.0:
        raise NodeError(f"input 'probability' must be between 0 and 1, got {probability}")
    ctx.set("value", _rng.random() < probability)
