"""Structs/Fields: Has Field, Get Fields and Remove Field."""

from __future__ import annotations

import pytest

from engine_testkit import BoardBuilder, run_pure

DOC = {"a": {"b": [10, {"c": None}]}, "z": 1}


@pytest.mark.parametrize("field, found", [("a.b[1].c", True), ("a.b[0]", True), ("", True), ("a.b[5]", False),
                                          ("a.x", False), ("z.q", False)])
def test_has_field(field, found):
    """Paths resolve through objects and arrays; a null value still counts as found."""
    assert run_pure("struct_has", "found", struct=DOC, field=field).result is found


def test_has_field_bad_path_type():
    """A non-string path fails naming the pin."""
    assert run_pure("struct_has", "found", struct=DOC, field=3).error["message"] == "input 'field' must be a string, got integer"


def test_get_fields_sorted():
    """Names come sorted, with values in the same order."""
    b = BoardBuilder()
    start = b.add("events_simple")
    fields = b.add("struct_get_fields", struct={"b": 2, "a": [1]})
    ret = b.add("events_generic_return_result")
    b.chain(start, ret)
    b.connect(fields, "field_names", ret, "response")
    assert b.run(start).result == ["a", "b"]
    assert run_pure("struct_get_fields", "fields", struct={"b": 2, "a": [1]}).result == [[1], 2]


def test_get_fields_rejects_non_objects():
    """An array is not an object."""
    assert run_pure("struct_get_fields", "fields", struct=[1]).error["message"] == "input 'struct' must be an object"


def remove(struct, field):
    b = BoardBuilder()
    start = b.add("events_simple")
    node = b.add("struct_remove", struct_in=struct, field=field)
    pack = b.add("struct_make_from_schema")
    b.link(b.pin_id(node, "struct_out", "Output"), b.add_pin(pack, "out", "Input", "Generic"))
    b.link(b.pin_id(node, "removed_value", "Output"), b.add_pin(pack, "removed", "Input", "Generic"))
    ret = b.add("events_generic_return_result")
    b.chain(start, node, ret)
    b.connect(pack, "struct_out", ret, "response")
    return b.run(start)


@pytest.mark.parametrize("field, out, removed", [
    ("z", {"a": {"b": [10, {"c": None}]}}, 1),
    ("a.b[0]", {"a": {"b": [{"c": None}]}, "z": 1}, 10),
    ("a.missing", DOC, None)])
def test_remove_field(field, out, removed):
    """Removing returns the changed copy and the removed value; an absent key removes nothing."""
    assert remove(DOC, field).result == {"out": out, "removed": removed}
    assert DOC == {"a": {"b": [10, {"c": None}]}, "z": 1}  # the input is never changed


@pytest.mark.parametrize("field, message", [
    ("", "input 'field' is empty: the whole value cannot be removed"),
    ("a.b[9]", "path step [9] is past the end of an array of 2"),
    ("z.q", "path step 'q' needs an object"),
    ("q.r", "path 'q.r' does not lead to an object or array")])
def test_remove_field_errors(field, message):
    """Removing the root, past an array's end, or through a missing or non-object step fails clearly."""
    assert remove(DOC, field).error["message"] == message
