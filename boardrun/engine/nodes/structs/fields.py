"""Structs/Fields: reading, testing, listing, writing and removing fields of JSON objects by path."""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

from ...coerce import as_str
from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


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


def _resolve(value: Any, steps: list[str | int]) -> tuple[bool, Any]:
    for step in steps:
        ok, value = _step(value, step)
        if not ok:
            return False, None
    return True, value


@register("struct_has", "Has Field", "Structs/Fields", "Tells whether a path such as 'items[0].name' resolves.",
          [out("found", "Found?", "Boolean", description="Whether the whole path resolved."),
           inp("struct", "Struct", "Struct", description="Where to look."),
           inp("field", "Field", "String", description="Path of keys and [indexes]; empty means the whole value.")])
def struct_has(ctx: NodeContext) -> None:
    value = ctx.get("struct")
    ctx.set("found", _resolve(value, parse_path(as_str(ctx.get("field"), "field")))[0])


@register("struct_get_fields", "Get Fields", "Structs/Fields",
          "Lists an object's field names and their values, sorted by name.",
          [inp("struct", "Struct", "Struct", description="The object to list."),
           out("field_names", "Field Names", "String", "Array", description="Field names, sorted.", default=[]),
           out("fields", "Fields", "Generic", "Array", description="The values, in the same order.", default=[])])
def struct_get_fields(ctx: NodeContext) -> None:
    value = ctx.get("struct")
    if not isinstance(value, dict):
        raise NodeError("input 'struct' must be an object")
    names = sorted(value)
    ctx.set("field_names", names)
    ctx.set("fields", [value[name] for name in names])


@register("struct_remove", "Remove Field", "Structs/Fields",
          "Removes the value at a path from a copy of an object (an array element is taken out) and returns it.",
          [inp("exec_in", "Input", "Execution", description="Remove the field."),
           out("exec_out", "Output", "Execution", description="Fires after removing."),
           out("struct_out", "Struct", "Struct", description="The changed copy."),
           out("removed_value", "Removed Value", "Generic", description="What was removed, or null if the field was absent."),
           inp("struct_in", "Struct", "Struct", description="The object to start from; it is not changed."),
           inp("field", "Field", "String", description="Path of keys and [indexes] to remove.")])
def struct_remove(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    root = copy.deepcopy(ctx.get("struct_in"))
    steps = parse_path(as_str(ctx.get("field"), "field"))
    if not steps:
        raise NodeError("input 'field' is empty: the whole value cannot be removed")
    found, parent = _resolve(root, steps[:-1])
    if not found:
        raise NodeError(f"path '{ctx.get('field')}' does not lead to an object or array")
    last = steps[-1]
    if isinstance(last, int):
        if not isinstance(parent, list):
            raise NodeError(f"path step [{last}] needs an array")
        if last >= len(parent):
            raise NodeError(f"path step [{last}] is past the end of an array of {len(parent)}")
        removed = parent.pop(last)
    else:
        if not isinstance(parent, dict):
            raise NodeError(f"path step '{last}' needs an object")
        removed = parent.pop(last, None)  # an absent field is not an error, as in Flow-Like
    ctx.set("struct_out", root)
    ctx.set("removed_value", removed)
    ctx.activate("exec_out")
