"""Utils/JSON nodes: schema validation (JSON Schema and OpenAI functions), repair, schema from example."""

from __future__ import annotations

import json

import pytest

from engine_testkit import BoardBuilder, failure_of, value_of

SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
          "required": ["name"]}


def run_exec(node_name: str, output: str, **inputs):
    b = BoardBuilder()
    start = b.add("events_simple")
    node = b.add(node_name, **inputs)
    ret = b.add("events_generic_return_result")
    b.chain(start, node, ret)
    b.connect(node, output, ret, "response")
    return b.run(start)


def test_parse_with_schema_returns_valid_data_in_its_order():
    """Valid data is returned as parsed, keys in their original order."""
    got = value_of(run_exec("parse_with_schema", "parsed", schema=json.dumps(SCHEMA), data='{"name": "a", "age": 3}'))
    assert got == {"name": "a", "age": 3} and list(got) == ["name", "age"]


def test_parse_with_schema_accepts_openai_function_definitions():
    """An OpenAI function definition validates against its parameters schema."""
    tool = {"type": "function", "name": "lookup", "description": "d", "strict": True,
            "parameters": {**SCHEMA, "additionalProperties": False}}
    assert value_of(run_exec("parse_with_schema", "parsed", schema=json.dumps(tool),
                             data='{"name": "x", "extra": 1}')) == {"name": "x", "extra": 1}
    failure_of(run_exec("parse_with_schema", "parsed", schema=json.dumps(tool), data='{"age": 1}'),
               "'name' is a required property")


@pytest.mark.parametrize("schema,data,message", [
    (json.dumps(SCHEMA), '{"name": 5, "age": -1}', "does not match the schema"),
    (json.dumps(SCHEMA), '{"age": -1}', "at '/age'"),
    (json.dumps(SCHEMA), "{nope", "input 'data' is not valid JSON"),
    ("{nope", "{}", "input 'schema' is not valid JSON"),
    ('{"type": 12}', "{}", "is not a valid JSON Schema"),
    ("[1]", "{}", "must be a JSON object"),
    ('{"$ref": "https://example.invalid/s.json"}', "{}", "cannot be resolved"),
])
def test_parse_with_schema_failures(schema, data, message):
    """Invalid data, unparsable text, invalid schemas and unresolvable references fail the node."""
    failure_of(run_exec("parse_with_schema", "parsed", schema=schema, data=data), message)


@pytest.mark.parametrize("text,expected", [
    ('{"a": 1}', {"a": 1}),
    ("42", 42),
    ('Some text before {"name": "Alice", "age": 30', {"name": "Alice", "age": 30}),
    ("prefix [1, 2, 3] trailing", [1, 2, 3]),
    ('noise {"nested": {"key": "value", "list": [1, 2, 3]', {"nested": {"key": "value", "list": [1, 2, 3]}}),
    ('{"items": [1, 2, 3,], "more": {"a": 1, "b": 2,},}', {"items": [1, 2, 3], "more": {"a": 1, "b": 2}}),
    ("{\n // a comment\n key: 'single quoted', flag: true,\n}", {"key": "single quoted", "flag": True}),
])
def test_repair_parse(text, expected):
    """Valid JSON passes through; damaged JSON is repaired."""
    assert value_of(run_exec("repair_parse", "result", json_string=text)) == expected


@pytest.mark.parametrize("text,message", [("no json at all", "no JSON object or array"),
                                          ('{"a": NaN}', "could not be repaired")])
def test_repair_parse_failures(text, message):
    """Text without an object or array, or repairs yielding non-finite numbers, fail the node."""
    failure_of(run_exec("repair_parse", "result", json_string=text), message)


def test_make_schema_follows_schemars():
    """The derived schema has schemars' shape: types, array items (anyOf when mixed), examples, $schema."""
    example = {"name": "x", "n": 1, "ratio": 0.5, "ok": True, "tags": ["a", "b"], "mixed": [1, "a"], "none": None,
               "any": [None, 1], "empty": []}
    got = value_of(run_exec("utils_json_make_schema", "schema", example_json=json.dumps(example)))
    assert got == {
        "type": "object",
        "properties": {
            "name": {"type": "string"}, "n": {"type": "integer"}, "ratio": {"type": "number"},
            "ok": {"type": "boolean"}, "tags": {"type": "array", "items": {"type": "string"}},
            "mixed": {"type": "array", "items": {"anyOf": [{"type": "integer"}, {"type": "string"}]}},
            "none": True, "any": {"type": "array", "items": True}, "empty": {"type": "array", "items": True}},
        "examples": [example],
        "$schema": "https://json-schema.org/draft/2020-12/schema"}
    assert list(got) == ["type", "properties", "examples", "$schema"]


def test_make_schema_of_null_is_the_empty_schema():
    """A null example gives the any-value schema, written as an object."""
    got = value_of(run_exec("utils_json_make_schema", "schema", example_json="null"))
    assert got == {"examples": [None], "$schema": "https://json-schema.org/draft/2020-12/schema"}


def test_make_schema_rejects_invalid_json():
    """An example that is not JSON fails the node."""
    failure_of(run_exec("utils_json_make_schema", "schema", example_json="{x"), "input 'example_json' is not valid JSON")
