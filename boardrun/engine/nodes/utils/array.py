"""Utils/Array: making, reading and growing arrays."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...coerce import as_int, as_list
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


@register("make_array", "Make Array", "Utils/Array", "Produces an empty array.",
          [out("array_out", "Array", "Generic", "Array", description="An empty array.")])
def make_array(ctx: NodeContext) -> None:
    ctx.set("array_out", [])


@register("array_get", "Get Element", "Utils/Array", "Picks the element at a position of an array, if it exists.",
          [inp("array_in", "Array", "Generic", "Array", description="The array."),
           inp("index", "Index", "Integer", description="Position, from 0."),
           out("element", "Element", "Generic", description="The element, or null."),
           out("success", "Success", "Boolean", description="Whether the position exists.")])
def array_get(ctx: NodeContext) -> None:
    items = ctx.get("array_in")
    index = as_int(ctx.get("index"), "index")
    if isinstance(items, list) and 0 <= index < len(items):
        ctx.set("element", items[index])
        ctx.set("success", True)
    else:
        ctx.set("element", None)
        ctx.set("success", False)


@register("array_push", "Push", "Utils/Array", "Appends a value to a copy of an array.",
          [inp("exec_in", "In", "Execution", description="Append."),
           inp("array_in", "Array", "Generic", "Array", options={"enforce_generic_value_type": True},
               description="The array to start from; it is not changed."),
           inp("value", "Value", "Generic", description="What to append."),
           out("exec_out", "Out", "Execution", description="Fires after appending."),
           out("array_out", "Array", "Generic", "Array", options={"enforce_generic_value_type": True},
               description="The longer copy.")])
def array_push(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    items = as_list(ctx.get("array_in"), "array_in")
    ctx.set("array_out", [*items, ctx.get("value")])
    ctx.activate("exec_out")


@register("array_length", "Array Length", "Utils/Array", "Counts the elements of an array (0 for anything else).",
          [inp("array", "Array", "Generic", "Array", description="The array."),
           out("length", "Length", "Integer", description="Number of elements.")])
def array_length(ctx: NodeContext) -> None:
    items = ctx.get("array")
    ctx.set("length", len(items) if isinstance(items, list) else 0)
