"""JSON text exactly as Flow-Like (serde_json) writes it.

Nodes that turn values into bytes or hash them must produce serde_json's text, or the bytes and
hashes differ from Flow-Like's for the same value. Python's ``json.dumps`` differs only in how it
writes floats: serde_json (ryu) writes ``1e16``/``1e-7``/``0.00001`` where Python writes
``1e+16``/``1e-07``/``1e-05``. Object keys keep their order (Flow-Like builds serde_json with
``preserve_order``).
"""

from __future__ import annotations

import json
import math
from typing import Any

from .errors import NodeError


def float_text(value: float) -> str:
    """A finite float in ryu's shortest round-trip form, as serde_json writes it."""
    if value == 0.0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    text = repr(value)  # Python's repr has the same shortest round-trip digits as ryu
    sign = "-" if text.startswith("-") else ""
    mantissa, _, exp = text.lstrip("-").partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = str(int(whole + frac))
    k = int(exp or 0) - len(frac)  # value = digits * 10**k
    stripped = digits.rstrip("0")
    k += len(digits) - len(stripped)
    digits = stripped
    point = k + len(digits)  # value = 0.digits * 10**point
    if 0 <= k and point <= 16:
        body = digits + "0" * k + ".0"
    elif 0 < point <= 16:
        body = f"{digits[:point]}.{digits[point:]}"
    elif -5 < point <= 0:
        body = "0." + "0" * -point + digits
    elif len(digits) == 1:
        body = f"{digits}e{point - 1}"
    else:
        body = f"{digits[0]}.{digits[1:]}e{point - 1}"
    return sign + body


def dumps(value: Any, pretty: bool = False) -> str:
    """serde_json's ``to_string`` (or ``to_string_pretty``: two-space indent) of a JSON value."""
    parts: list[str] = []
    _write(value, parts, pretty, 0)
    return "".join(parts)


def dumps_bytes(value: Any, pretty: bool = False) -> bytes:
    """:func:`dumps` as UTF-8 bytes."""
    try:
        return dumps(value, pretty).encode("utf-8")
    except UnicodeEncodeError:  # Python's JSON reader lets lone surrogates (\ud800) into strings
        raise NodeError("a string holds an unpaired UTF-16 surrogate, which is not valid text") from None


def _write(value: Any, parts: list[str], pretty: bool, depth: int) -> None:
    if value is None or isinstance(value, (bool, int, str)):
        parts.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise NodeError("a value that is not a finite number cannot be written as JSON")
        parts.append(float_text(value))
    elif isinstance(value, (list, dict)):
        opening, closing = ("[", "]") if isinstance(value, list) else ("{", "}")
        if not value:
            parts.append(opening + closing)
            return
        inner = "\n" + "  " * (depth + 1) if pretty else ""
        parts.append(opening)
        items = value if isinstance(value, list) else value.items()
        for n, item in enumerate(items):
            parts.append(("," if n else "") + inner)
            if isinstance(value, dict):
                key, item = item
                parts.append(json.dumps(str(key), ensure_ascii=False) + (": " if pretty else ":"))
            _write(item, parts, pretty, depth + 1)
        parts.append(("\n" + "  " * depth if pretty else "") + closing)
    else:
        raise NodeError(f"a {type(value).__name__} value cannot be written as JSON")
