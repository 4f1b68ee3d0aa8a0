"""Utils/Conversions: values to and from JSON text and JSON bytes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ...coerce import as_bool, as_list, as_str
from ...errors import NodeError
from ...jsontext import dumps_bytes
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


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")  # Python's json accepts NaN/Infinity; serde_json does not


def parse_json(text: str, pin: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise NodeError(f"input '{pin}' is not valid JSON: {exc}") from None


@register("val_from_string", "From String", "Utils/Conversions", "Parses JSON text into a value.",
          [inp("string", "String", "String", description="JSON text."),
           out("value_ref", "Value", "Generic", description="The parsed value.")])
def val_from_string(ctx: NodeContext) -> None:
    ctx.set("value_ref", sort_keys(parse_json(as_str(ctx.get("string"), "string"), "string")))


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


@register("val_from_bytes", "From Bytes", "Utils/Conversions", "Parses UTF-8 JSON bytes into a value.",
          [inp("bytes", "Bytes", "Byte", "Array", description="UTF-8 encoded JSON text."),
           out("value", "Value", "Generic", description="The parsed value (object keys sorted).")])
def val_from_bytes(ctx: NodeContext) -> None:
    raw = as_list(ctx.get("bytes"), "bytes")
    if not all(type(b) is int and 0 <= b <= 255 for b in raw):
        raise NodeError("input 'bytes' must be an array of integers from 0 to 255")
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NodeError(f"input 'bytes' is not UTF-8: {exc}") from None
    ctx.set("value", sort_keys(parse_json(text, "bytes")))


@register("val_to_bytes", "To Bytes", "Utils/Conversions",
          "Writes a value as UTF-8 JSON bytes (object keys sorted), as Flow-Like writes it.",
          [inp("value", "Value", "Generic", description="Any JSON value."),
           inp("pretty", "Pretty?", "Boolean", default=True, description="Indent arrays and objects."),
           out("bytes", "Bytes", "Byte", "Array", description="The JSON text's UTF-8 bytes.")])
def val_to_bytes(ctx: NodeContext) -> None:
    value = sort_keys(ctx.get("value"))
    ctx.set("bytes", list(dumps_bytes(value, pretty=as_bool(ctx.get("pretty"), "pretty"))))
