"""Structs/Fields: reading and writing fields of JSON objects by path."""

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
