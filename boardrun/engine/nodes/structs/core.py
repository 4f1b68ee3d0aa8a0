"""Structs: making JSON objects and taking them apart."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


@register("struct_make", "Make Struct", "Structs", "Produces an empty object to add fields to.",
          [out("struct", "Struct", "Struct", description="An empty object.")])
def struct_make(ctx: NodeContext) -> None:
    ctx.set("struct", {})


# The editor names the per-field pins it adds with these prefixes (facts of the board format).
BREAK_PREFIX = "__break_struct_field__"
MAKE_PREFIX = "__make_struct_field__"


def _field(pin_name: str, prefix: str) -> str:
    return pin_name[len(prefix):] if pin_name.startswith(prefix) else pin_name


@register("struct_break", "Break Struct", "Structs",
          "Splits an object into one output per field; the editor adds the outputs from the connected schema.",
          [inp("struct_in", "Struct", "Struct", description="The object to split.")],
          extra_outputs=True)
def struct_break(ctx: NodeContext) -> None:
    value = ctx.get("struct_in")
    if not isinstance(value, dict):
        raise NodeError("input 'struct_in' must be an object")
    for name, data_type in ctx.output_pins():
        if data_type != "Execution":
            ctx.set(name, value.get(_field(name, BREAK_PREFIX)))  # a field the object lacks reads null


@register("struct_make_from_schema", "Make Struct (Schema)", "Structs",
          "Builds an object from one input per field; the editor adds the inputs from a schema.",
          [out("struct_out", "Struct", "Struct", description="The object built from the inputs.")],
          extra_inputs=True)
def struct_make_from_schema(ctx: NodeContext) -> None:
    ctx.set("struct_out", {_field(name, MAKE_PREFIX): ctx.get(name) for name in ctx.input_names()})
