"""Utils/Conversions: values to and from JSON text."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ...coerce import as_bool, as_str
from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


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
