"""Utils/Types nodes: Select, Fallback and Try Transform (conversion chosen by the Type Out pin's type)."""

from __future__ import annotations

import pytest

from engine_testkit import BoardBuilder, run_pure, value_of


def transform(value, data_type: str):
    """Run utils_types_try_transform with its Type Out pin set to ``data_type``; give (type_out, success)."""
    b = BoardBuilder()
    start = b.add("events_simple")
    node = b.add("utils_types_try_transform", type_in=value)
    b.pins(node, "type_out", "Output")[0]["data_type"] = data_type
    make = b.add("make_array")
    push1, push2 = b.add("array_push"), b.add("array_push")
    ret = b.add("events_generic_return_result")
    b.chain(start, push1, push2, ret)
    b.connect(make, "array_out", push1, "array_in")
    b.connect(node, "type_out", push1, "value")
    b.connect(push1, "array_out", push2, "array_in")
    b.connect(node, "success", push2, "value")
    b.connect(push2, "array_out", ret, "response")
    return tuple(value_of(b.run(start)))


@pytest.mark.parametrize("value,data_type,expected", [
    ("hi", "String", ("hi", True)),
    ({"b": 1, "a": [1.5]}, "String", ('{\n  "b": 1,\n  "a": [\n    1.5\n  ]\n}', True)),
    (3, "Float", (3.0, True)), ("2.5", "Float", (2.5, True)), ("1e3", "Float", (1000.0, True)),
    (True, "Float", (1.0, True)), (" 2.5", "Float", (None, False)), ("1_000", "Float", (None, False)),
    ("inf", "Float", (None, False)), ([1], "Float", (None, False)),
    (3.9, "Integer", (3, True)), (-3.9, "Integer", (-3, True)), ("42", "Integer", (42, True)),
    ("+7", "Integer", (7, True)), ("4.7", "Integer", (4, True)), (False, "Integer", (0, True)),
    (1e300, "Integer", (None, False)), ("x", "Integer", (None, False)),
    ("Yes", "Boolean", (True, True)), ("off", "Boolean", (False, True)), ("0.0", "Boolean", (False, True)),
    (2, "Boolean", (True, True)), (None, "Boolean", (False, True)), ([], "Boolean", (False, True)),
    ({"a": 1}, "Boolean", (True, True)), ("maybe", "Boolean", (None, False)),
    ('{"a": 1}', "Struct", ({"a": 1}, True)), ("[1]", "Struct", (None, False)),
    (["x", "y"], "Struct", ({"0": "x", "1": "y"}, True)), (5, "Struct", ({"value": 5}, True)),
    (200, "Byte", (200, True)), (256, "Byte", (None, False)), (2.5, "Byte", (3, True)), ("A", "Byte", (65, True)),
    ("17", "Byte", (17, True)), ("300", "Byte", (None, False)), (True, "Byte", (1, True)),
    ("2026-01-02T03:04:05+01:00", "Date", ("2026-01-02T02:04:05Z", True)),
    ("02/01/2026", "Date", ("2026-01-02T00:00:00Z", True)),
    (1767225600, "Date", ("2026-01-01T00:00:00Z", True)),
    (1767225600123, "Date", ("2026-01-01T00:00:00.123Z", True)),
    (1.5, "Date", ("1970-01-01T00:00:01.500Z", True)),
    ({"secs_since_epoch": 60, "nanos_since_epoch": 7}, "Date", ("1970-01-01T00:01:00.000000007Z", True)),
    ("soon", "Date", (None, False)),
    ({"directory": "/tmp", "filename": "a.txt"}, "PathBuf", ("/tmp/a.txt", True)),
    ({"path": "/x"}, "PathBuf", ("/x", True)), (3, "PathBuf", (None, False)),
    (1, "Generic", (None, False)),
])
def test_try_transform_converts_to_the_pins_type(value, data_type, expected):
    """Each target type follows Flow-Like's conversion rules; what cannot convert gives null and false."""
    assert transform(value, data_type) == expected


@pytest.mark.parametrize("condition,expected", [(True, "yes"), (False, {"no": 1})])
def test_select_picks_by_condition(condition, expected):
    """Select returns A when the condition is true and B otherwise."""
    assert value_of(run_pure("utils_types_select", "result", a="yes", b={"no": 1}, condition=condition)) == expected


def test_select_requires_a_boolean_condition():
    """A non-boolean condition fails the node."""
    result = run_pure("utils_types_select", "result", a=1, b=2, condition="true")
    assert result.reason == "node_error" and "'condition' must be a boolean" in result.error["message"]


def test_select_does_not_need_the_unpicked_value():
    """Only the picked side is read: an unset B does not matter when the condition is true."""
    assert value_of(run_pure("utils_types_select", "result", a=[1], condition=True)) == [1]


def fallback(**inputs):
    b = BoardBuilder()
    start = b.add("events_simple")
    node = b.add("utils_types_fallback", **inputs)
    make, push1, push2 = b.add("make_array"), b.add("array_push"), b.add("array_push")
    ret = b.add("events_generic_return_result")
    b.chain(start, push1, push2, ret)
    b.connect(make, "array_out", push1, "array_in")
    b.connect(node, "result", push1, "value")
    b.connect(push1, "array_out", push2, "array_in")
    b.connect(node, "used_fallback", push2, "value")
    b.connect(push2, "array_out", ret, "response")
    return b.run(start)


@pytest.mark.parametrize("inputs,expected", [({"value": 0, "default": 9}, [0, False]),
                                             ({"value": False, "default": 9}, [False, False]),
                                             ({"value": None, "default": 9}, [9, True]),
                                             ({"default": "d"}, ["d", True])])
def test_fallback_uses_default_only_for_null_or_missing(inputs, expected):
    """Falsy values pass through; null or an unset value gives the default and used_fallback=true."""
    assert value_of(fallback(**inputs)) == expected


@pytest.mark.parametrize("inputs", [{"value": None}, {"value": 1}])
def test_fallback_without_default_fails(inputs):
    """An unset default fails the node, naming the pin, even when the value is present (as in Flow-Like)."""
    result = fallback(**inputs)
    assert result.reason == "node_error" and "input 'default'" in result.error["message"]
