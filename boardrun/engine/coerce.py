"""Strict conversions of JSON input values, mirroring how the reference nodes deserialise them."""

from __future__ import annotations

from typing import Any, Hashable

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


def as_map(value: Any, pin: str) -> dict[str, Any]:
    """A HashMap pin's value: a JSON object (string keys, insertion order kept)."""
    if type(value) is dict:
        return value
    raise NodeError(f"input '{pin}' must be a map (JSON object), got {_kind(value)}")


def as_set(value: Any, pin: str) -> list[Any]:
    """A HashSet pin's value: a JSON array, read as a new list without repeated elements.

    Flow-Like serialises a set as a JSON array; reading one collapses duplicates (by JSON
    equality, see :func:`value_key`). The first occurrence of each element keeps its place, so a
    set's order is the order its elements were first added: deterministic, unlike Rust's hash order.
    """
    if type(value) is not list:
        raise NodeError(f"input '{pin}' must be a set (JSON array), got {_kind(value)}")
    unique: dict[Hashable, Any] = {}
    for element in value:
        unique.setdefault(value_key(element), element)
    return list(unique.values())


def value_key(value: Any) -> Hashable:
    """A hashable key equal for two JSON values exactly when Flow-Like (serde_json) sees them equal.

    Python's own equality is looser: True == 1 == 1.0. In serde_json a boolean is never a number
    and an integer never equals a float; object equality ignores key order; 0.0 equals -0.0.
    """
    kind = type(value)
    if kind is str:
        return ("s", value)
    if kind is bool:
        return ("b", value)
    if kind is int:
        return ("i", value)
    if kind is float:
        return ("f", value if value != 0.0 else 0.0)
    if value is None:
        return ("n",)
    if kind is list:
        return ("a", tuple(value_key(item) for item in value))
    if kind is dict:
        return ("o", frozenset((key, value_key(item)) for key, item in value.items()))
    raise NodeError(f"a {_kind(value)} is not a JSON value")


def check_i64(value: int, what: str) -> int:
    if _I64_MIN <= value <= _I64_MAX:
        return value
    raise NodeError(f"{what} overflows a 64-bit integer")
