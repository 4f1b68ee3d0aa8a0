"""Utils/Types: choosing between Generic values and converting them to the type a pin expects."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, Callable

from ...coerce import as_bool
from ...errors import NodeError
from ...jsontext import dumps
from ...registry import inp, out, register
from .conversions import parse_json
from .datetime import Instant, from_timestamp, parse_rfc3339, parse_with_format

if TYPE_CHECKING:
    from ...runtime import NodeContext

_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1
_MILLIS_THRESHOLD = 946_684_800 * 1000  # numbers above this are read as Unix milliseconds, as in Flow-Like
# Rust's f64 and integer parsers: no surrounding whitespace, no underscores (unlike Python's float()).
_RUST_FLOAT = re.compile(r"[+-]?(?:inf|infinity|nan|(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)", re.IGNORECASE)
_RUST_INT = re.compile(r"[+-]?\d+")
_TRUE_WORDS = ("true", "yes", "y", "1", "on")
_FALSE_WORDS = ("false", "no", "n", "0", "off")
_NO_VALUE = object()  # a conversion that did not succeed


def _number(value: Any) -> bool:
    return type(value) in (int, float)


def _rust_float(text: str) -> float | None:
    return float(text) if _RUST_FLOAT.fullmatch(text) else None


def _rust_int(text: str) -> int | None:
    return int(text) if _RUST_INT.fullmatch(text) and _I64_MIN <= int(text) <= _I64_MAX else None


def _round_half_away(value: float) -> float:
    whole = float(math.trunc(value))
    return whole + math.copysign(1.0, value) if abs(value - whole) >= 0.5 else whole


def _whole(value: float) -> Any:
    """A float truncated to an i64; out of range (Rust would saturate) does not convert."""
    if not math.isfinite(value) or not _I64_MIN <= math.trunc(value) <= _I64_MAX:
        return _NO_VALUE
    return math.trunc(value)


def to_string(value: Any) -> Any:
    return value if isinstance(value, str) else dumps(value, pretty=True)


def to_float(value: Any) -> Any:
    if _number(value):
        return float(value)
    if isinstance(value, str):
        parsed = _rust_float(value)
        return parsed if parsed is not None and math.isfinite(parsed) else _NO_VALUE
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    return _NO_VALUE


def to_integer(value: Any) -> Any:
    if type(value) is int:
        return value if _I64_MIN <= value <= _I64_MAX else _NO_VALUE
    if type(value) is float:
        return _whole(value)
    if isinstance(value, str):
        parsed = _rust_int(value)
        if parsed is not None:
            return parsed
        as_float = _rust_float(value)
        return _NO_VALUE if as_float is None else _whole(as_float)
    if isinstance(value, bool):
        return int(value)
    return _NO_VALUE


def to_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if _number(value):
        return value != 0
    if isinstance(value, str):
        lower = value.lower()
        if lower in _TRUE_WORDS:
            return True
        if lower in _FALSE_WORDS:
            return False
        parsed = _rust_float(value)
        return _NO_VALUE if parsed is None else parsed != 0.0  # NaN counts as true, as in Rust
    if value is None:
        return False
    return bool(value)  # arrays and objects: non-empty


def to_struct(value: Any) -> Any:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = parse_json(value, "type_in")
        except NodeError:
            return _NO_VALUE
        return parsed if isinstance(parsed, dict) else _NO_VALUE
    if isinstance(value, list):
        return {str(k): item for k, item in enumerate(value)}
    return {"value": value}  # numbers, booleans, null


def to_byte(value: Any) -> Any:
    if type(value) is int:
        return value if 0 <= value <= 255 else _NO_VALUE
    if type(value) is float:
        rounded = _round_half_away(value) if math.isfinite(value) else -1.0
        return int(rounded) if 0 <= rounded <= 255 else _NO_VALUE
    if isinstance(value, str):
        if re.fullmatch(r"\+?\d+", value) and int(value) <= 255:
            return int(value)
        parsed = _rust_float(value)
        if parsed is not None and math.isfinite(parsed) and 0 <= _round_half_away(parsed) <= 255:
            return int(_round_half_away(parsed))
        if len(value) == 1 and ord(value) <= 255:
            return ord(value)
        return _NO_VALUE
    if isinstance(value, bool):
        return int(value)
    return _NO_VALUE


def to_date(value: Any) -> Any:
    found: Instant | None = None
    if isinstance(value, str):
        found = parse_rfc3339(value)
        for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%Y-%m-%d %H:%M:%S"):
            if found is not None:
                break
            found = parse_with_format(value, fmt)
    elif type(value) is int:
        found = from_timestamp(value // 1000, value % 1000 * 1_000_000) if value > _MILLIS_THRESHOLD \
            else from_timestamp(value)
    elif type(value) is float and math.isfinite(value):
        if value > _MILLIS_THRESHOLD:
            millis = math.trunc(value)
            found = from_timestamp(millis // 1000, millis % 1000 * 1_000_000)
        else:
            seconds = math.floor(value)
            found = from_timestamp(seconds, min(int((value - seconds) * 1e9), 999_999_999))
    elif isinstance(value, dict):
        found = from_timestamp(value.get("secs_since_epoch"), value.get("nanos_since_epoch"))
    return _NO_VALUE if found is None else found.text()


def to_path(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if isinstance(value.get("path"), str):
            return value["path"]
        if isinstance(value.get("directory"), str) and isinstance(value.get("filename"), str):
            return f"{value['directory']}/{value['filename']}"
    return _NO_VALUE


_CONVERSIONS: dict[str, Callable[[Any], Any]] = {
    "String": to_string, "Float": to_float, "Integer": to_integer, "Boolean": to_boolean, "Struct": to_struct,
    "Byte": to_byte, "Date": to_date, "PathBuf": to_path,
}


@register("utils_types_try_transform", "Try Transform", "Utils/Types",
          "Converts a value to the data type the Type Out pin has been given on the board, if it can.",
          [inp("type_in", "Type In", "Generic", description="The value to convert."),
           out("type_out", "Type Out", "Generic", description="The converted value, or null."),
           out("success", "Success", "Boolean", description="Whether the conversion worked.")])
def utils_types_try_transform(ctx: NodeContext) -> None:
    value = ctx.get("type_in")
    target = next((data_type for name, data_type in ctx.output_pins() if name == "type_out"), "Generic")
    convert = _CONVERSIONS.get(target)
    try:
        converted = convert(value) if convert is not None else _NO_VALUE
    except NodeError:  # e.g. a float that cannot be written as JSON text
        converted = _NO_VALUE
    ctx.set("type_out", None if converted is _NO_VALUE else converted)
    ctx.set("success", converted is not _NO_VALUE)


@register("utils_types_fallback", "Fallback", "Utils/Types",
          "Passes the value on, or the default when the value is null or cannot be read.",
          [inp("value", "Value", "Generic", description="The preferred value."),
           inp("default", "Default", "Generic", description="Used when the value is null or missing."),
           out("result", "Result", "Generic", description="The value or the default."),
           out("used_fallback", "Used Fallback", "Boolean", description="Whether the default was used.")])
def utils_types_fallback(ctx: NodeContext) -> None:
    try:
        value = ctx.get("value")
    except NodeError:  # not connected and no default, or its source produced nothing
        value = None
    default = ctx.get("default")  # read (and required) even when unused, as in Flow-Like
    ctx.set("result", default if value is None else value)
    ctx.set("used_fallback", value is None)


@register("utils_types_select", "Select", "Utils/Types", "Picks A when the condition holds, otherwise B.",
          [inp("a", "A (True)", "Generic", description="Returned when the condition is true."),
           inp("b", "B (False)", "Generic", description="Returned when the condition is false."),
           inp("condition", "Condition", "Boolean", default=True, description="Which value to pick."),
           out("result", "Result", "Generic", description="The picked value.")])
def utils_types_select(ctx: NodeContext) -> None:
    ctx.set("result", ctx.get("a") if as_bool(ctx.get("condition"), "condition") else ctx.get("b"))
