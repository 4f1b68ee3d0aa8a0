"""Structs: Break Struct and Make Struct (Schema) with the editor's per-field pins."""

from __future__ import annotations

from engine_testkit import BoardBuilder, run_pure


def test_break_struct_sets_one_output_per_field():
    """Each editor-added output gets its field (prefixed or plain pin names); a missing field reads null."""
    b = BoardBuilder()
    start = b.add("events_simple")
    brk = b.add("struct_break", struct_in={"name": "Ada", "age": 36})
    name = b.add_pin(brk, "__break_struct_field__name", "Output", "String")
    age = b.add_pin(brk, "age", "Output", "Integer")
    gone = b.add_pin(brk, "__break_struct_field__email", "Output", "String")
    make = b.add("struct_make_from_schema")
    for field, source in (("n", name), ("a", age), ("e", gone)):
        b.link(source, b.add_pin(make, field, "Input", "Generic"))
    ret = b.add("events_generic_return_result")
    b.chain(start, ret)
    b.connect(make, "struct_out", ret, "response")
    assert b.run(start).result == {"n": "Ada", "a": 36, "e": None}


def test_break_struct_rejects_non_objects():
    """Breaking an array fails the node."""
    b = BoardBuilder()
    start = b.add("events_simple")
    brk = b.add("struct_break", struct_in=[1])
    out_pin = b.add_pin(brk, "x", "Output", "Generic")
    ret = b.add("events_generic_return_result")
    b.chain(start, ret)
    b.link(out_pin, b.pin_id(ret, "response", "Input"))
    assert b.run(start).error["message"] == "input 'struct_in' must be an object"


def test_make_from_schema_strips_the_prefix_and_needs_values():
    """Inputs named with the editor prefix become plain field names; an input without a value fails."""
    b = BoardBuilder()
    start = b.add("events_simple")
    make = b.add("struct_make_from_schema")
    b.add_pin(make, "__make_struct_field__title", "Input", "String", default="T")
    ret = b.add("events_generic_return_result")
    b.chain(start, ret)
    b.connect(make, "struct_out", ret, "response")
    assert b.run(start).result == {"title": "T"}
    b.add_pin(make, "__make_struct_field__body", "Input", "String")
    assert b.run(start).error["message"] == "input '__make_struct_field__body' is not connected and has no default value"


def test_make_from_schema_without_fields_is_empty():
    """With no field inputs the result is an empty object."""
    assert run_pure("struct_make_from_schema", "struct_out").result == {}
