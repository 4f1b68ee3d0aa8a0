"""Strict conversions of JSON input values, mirroring how the reference nodes deserialise them."""

from __future__ import annotations

from typing import Any

from .errors import NodeError

_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "float", str: "string", list: "array", dict: "object"}.get(
        type(value), type(value).__name__)


def as_bool(value: Any, pin: str) -> bool:
    if type(value) is bool:
        return value
    raise NodeError(f"input '{pin}' must be a boolean, got {_kind(value)}")


def as_int(value: Any, pin: str) -> int:
    if type(value) is int and _I64_MIN <= value <= _I64_MAX:
        return value
    raise NodeError(f"input '{pin}' must be a 64-bit integer, got {_kind(value)}")


def as_float(value: Any, pin: str) -> float:
    if type(value) in (int, float):
        return float(value)
    raise NodeError(f"input '{pin}' must be a number, got {_kind(value)}")


def as_str(value: Any, pin: str) -> str:
    if type(value) is str:
        return value
    raise NodeError(f"input '{pin}' must be a string, got {_kind(value)}")


def as_list(value: Any, pin: str) -> list[Any]:
    if type(value) is list:
        return value
    raise NodeError(f"input '{pin}' must be an array, got {_kind(value)}")


def check_i64(value: int, what: str) -> int:
    if _I64_MIN <= value <= _I64_MAX:
        return value
    raise NodeError(f"{what} overflows a 64-bit integer")
