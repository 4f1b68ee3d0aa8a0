"""Utils/Conversions: From Bytes / To Bytes write and read JSON exactly as Flow-Like's serde_json does."""

from __future__ import annotations

import pytest

from engine_testkit import run_pure, value_of


@pytest.mark.parametrize("value,pretty,text", [
    ({"b": 1, "a": [1.0, 1e16, 0.00001, 1e-7, "é\n"]}, False, '{"a":[1.0,1e16,0.00001,1e-7,"é\\n"],"b":1}'),
    ({"z": {"y": None, "x": True}}, True, '{\n  "z": {\n    "x": true,\n    "y": null\n  }\n}'),
    ([], True, "[]"), ("text", False, '"text"'), (12, True, "12"),
])
def test_to_bytes_writes_serde_json_text(value, pretty, text):
    """Keys are sorted, floats are written as serde_json writes them, pretty uses two-space indents."""
    assert bytes(value_of(run_pure("val_to_bytes", "bytes", value=value, pretty=pretty))).decode() == text


@pytest.mark.parametrize("text,value", [('{"b": [1, 2.5], "a": null}', {"a": None, "b": [1, 2.5]}),
                                        ('"ü"', "ü"), ("  7 ", 7)])
def test_from_bytes_parses_json(text, value):
    """UTF-8 JSON bytes become the value, object keys sorted."""
    got = value_of(run_pure("val_from_bytes", "value", bytes=list(text.encode())))
    assert got == value and list(got) == list(value) if isinstance(value, dict) else got == value


@pytest.mark.parametrize("raw,message", [(list(b"{nope"), "is not valid JSON"), (list(b"NaN"), "is not valid JSON"),
                                         ([0xff, 0xfe], "is not UTF-8"), ([1, 256], "integers from 0 to 255"),
                                         ("abc", "must be an array")])
def test_from_bytes_rejects_bad_bytes(raw, message):
    """Invalid JSON (including NaN, which serde_json refuses), invalid UTF-8 and non-bytes fail the node."""
    result = run_pure("val_from_bytes", "value", bytes=raw)
    assert result.reason == "node_error" and message in result.error["message"]


def test_to_bytes_requires_boolean_pretty():
    """A non-boolean 'pretty' fails the node."""
    result = run_pure("val_to_bytes", "bytes", value=1, pretty="yes")
    assert result.reason == "node_error" and "'pretty' must be a boolean" in result.error["message"]


def test_to_bytes_rejects_unpaired_surrogates():
    """A string holding a lone surrogate (which Python's JSON reader lets through) fails instead of crashing."""
    result = run_pure("val_to_bytes", "bytes", value="\ud800", pretty=False)
    assert result.reason == "node_error" and "unpaired UTF-16 surrogate" in result.error["message"]
