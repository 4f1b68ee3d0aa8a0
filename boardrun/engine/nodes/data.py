"""JSON conversion, structs (JSON objects) and arrays."""

from __future__ import annotations

import copy
import json
import re
from typing import TYPE_CHECKING, Any

from ..coerce import as_bool, as_int, as_list, as_str
from ..errors import NodeError
from ..registry import inp, out, register

if TYPE_CHECKING:
    from ..runtime import NodeContext


def sort_keys(value: Any) -> Any:
    """Object keys in alphabetical order at every level (the reference stores objects sorted)."""
    if isinstance(value, dict):
        return {k: sort_keys(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [sort_keys(v) for v in value]
    return value


@register("val_from_string", "From String", "Utils/Conversions", "Parses JSON text into a value.",
          [inp("string", "String", "String", description="JSON text."),
           out("value_ref", "Value", "Generic", description="The parsed value.")])
def val_from_string(ctx: NodeContext) -> None:
    text = as_str(ctx.get("string"), "string")
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise NodeError(f"input 'string' is not valid JSON: {exc}") from None
    ctx.set("value_ref", sort_keys(value))


@register("val_to_string", "To String", "Utils/Conversions",
          "Turns a value into text: strings stay as they are, everything else becomes JSON.",
          [inp("value", "Value", "Generic", description="Any JSON value."),
           inp("pretty", "Pretty?", "Boolean", default=True, description="Indent arrays and objects."),
           out("string", "String", "String", description="The text.")])
def val_to_string(ctx: NodeContext) -> None:
    value = ctx.get("value")
    pretty = as_bool(ctx.get("pretty"), "pretty")
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (int, float)):
        text = json.dumps(value)
    elif pretty:
        text = json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False)
    else:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    ctx.set("string", text)


@register("struct_make", "Make Struct", "Structs", "Produces an empty object to add fields to.",
          [out("struct", "Struct", "Struct", description="An empty object.")])
def struct_make(ctx: NodeContext) -> None:
    ctx.set("struct", {})


_BRACKET = re.compile(r"\[([^\]]*)\]")


def parse_path(path: str) -> list[str | int]:
    """'a.b[0].c' -> ['a', 'b', 0, 'c']; brackets without a valid non-negative number are skipped."""
    steps: list[str | int] = []
    for segment in path.split("."):
        head, _, _ = segment.partition("[")
        if head:
            steps.append(head)
        for inner in _BRACKET.findall(segment[len(head):]):
            if inner.isascii() and inner.isdigit():
                steps.append(int(inner))
    return steps


def _step(value: Any, step: str | int) -> tuple[bool, Any]:
    if isinstance(step, int):
        if isinstance(value, list) and step < len(value):
            return True, value[step]
    elif isinstance(value, dict) and step in value:
        return True, value[step]
    return False, None


@register("struct_get", "Get Field", "Structs/Fields",
          "Looks up a value by path, such as 'items[0].name'; reports whether it was found.",
          [out("value", "Value", "Generic", description="The value found, or null."),
           out("found", "Found?", "Boolean", description="Whether the whole path resolved."),
           inp("struct", "Struct", "Struct", description="Where to look."),
           inp("field", "Field", "String", description="Path of keys and [indexes]; empty means the whole value.")])
def struct_get(ctx: NodeContext) -> None:
    current = ctx.get("struct")
    for step in parse_path(as_str(ctx.get("field"), "field")):
        ok, current = _step(current, step)
        if not ok:
            ctx.set("value", None)
            ctx.set("found", False)
            return
    ctx.set("value", current)
    ctx.set("found", True)


@register("struct_set", "Set Field", "Structs/Fields",
          "Writes a value at a path into a copy of an object, creating missing object levels.",
          [inp("exec_in", "Input", "Execution", description="Write the field."),
           out("exec_out", "Output", "Execution", description="Fires after writing."),
           out("struct_out", "Struct", "Struct", description="The changed copy."),
           inp("struct_in", "Struct", "Struct", description="The object to start from; it is not changed."),
           inp("field", "Field", "String", description="Path of keys and [indexes]; empty replaces the whole value."),
           inp("value", "Value", "Generic", description="What to write.")])
def struct_set(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    root = copy.deepcopy(ctx.get("struct_in"))
    steps = parse_path(as_str(ctx.get("field"), "field"))
    value = ctx.get("value")
    if not steps:
        ctx.set("struct_out", value)
        ctx.activate("exec_out")
        return
    current = root
    for position, step in enumerate(steps):
        last = position == len(steps) - 1
        if isinstance(step, int):
            if not isinstance(current, list):
                raise NodeError(f"path step [{step}] needs an array")
            if step >= len(current):
                raise NodeError(f"path step [{step}] is past the end of an array of {len(current)}")
            if last:
                current[step] = value
            else:
                current = current[step]
        else:
            if not isinstance(current, dict):
                raise NodeError(f"path step '{step}' needs an object")
            if last:
                current[step] = value
            else:
                current = current.setdefault(step, {})
    ctx.set("struct_out", root)
    ctx.activate("exec_out")


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
