"""Utils/JSON: validating JSON against a schema, repairing broken JSON, and schemas from examples."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from ...coerce import as_str
from ...errors import NodeError
from ...registry import inp, out, register
from .conversions import parse_json

if TYPE_CHECKING:
    from ...runtime import NodeContext

_DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"


def _tool_parameters(definition: Any) -> Any:
    """An OpenAI function definition stands for the schema of its parameters (titled with its name)."""
    if not (isinstance(definition, dict) and definition.get("type") == "function"
            and all(definition.get(key) is not None for key in ("name", "description", "parameters", "strict"))):
        return definition
    parameters = definition["parameters"]
    if not isinstance(parameters, dict):
        raise NodeError("input 'schema' is an OpenAI function whose 'parameters' is not an object")
    schema = {k: v for k, v in parameters.items() if k != "additionalProperties"}
    schema["title"] = definition["name"]
    return schema


def _pointer(path: Any) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


@register("parse_with_schema", "Parse JSON with Schema", "Utils/JSON",
          "Parses JSON text and checks it against a JSON Schema or an OpenAI function definition.",
          [inp("exec_in", "Input", "Execution", description="Parse and validate."),
           inp("schema", "Schema", "String", description="JSON Schema (draft from $schema, else 2020-12) or an "
                                                          "OpenAI function definition, as JSON text."),
           inp("data", "Data", "String", description="The JSON text to check."),
           out("exec_out", "Output", "Execution", description="Fires when the data is valid."),
           out("parsed", "Parsed", "Struct", description="The parsed data.")])
def parse_with_schema(ctx: NodeContext) -> None:
    import jsonschema
    from referencing.exceptions import Unresolvable

    ctx.deactivate("exec_out")
    schema = _tool_parameters(parse_json(as_str(ctx.get("schema"), "schema"), "schema"))
    if not isinstance(schema, (dict, bool)):
        raise NodeError("input 'schema' must be a JSON object (or boolean) schema")
    validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        validator_class.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise NodeError(f"input 'schema' is not a valid JSON Schema: {exc.message}") from None
    data = parse_json(as_str(ctx.get("data"), "data"), "data")
    try:
        errors = [f"{error.message} at '{_pointer(error.absolute_path)}'"
                  for error in validator_class(schema).iter_errors(data)]
    except Unresolvable as exc:  # remote or missing $ref: never fetched
        raise NodeError(f"input 'schema' has a $ref that cannot be resolved: {exc}") from None
    if errors:
        raise NodeError("input 'data' does not match the schema: " + "; ".join(errors))
    ctx.set("parsed", data)
    ctx.activate("exec_out")


def _all_finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_all_finite(v) for v in value)
    if isinstance(value, dict):
        return all(_all_finite(v) for v in value.values())
    return True


@register("repair_parse", "Repair Parse JSON", "Utils/JSON",
          "Parses JSON, repairing common damage: text around it, missing closing brackets, trailing commas, "
          "comments, single quotes, unquoted keys.",
          [inp("exec_in", "Input", "Execution", description="Parse."),
           inp("json_string", "JSON String", "String", description="Text holding possibly broken JSON."),
           out("exec_out", "Output", "Execution", description="Fires when something could be parsed."),
           out("result", "Result", "Struct", description="The parsed value.")])
def repair_parse(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    text = as_str(ctx.get("json_string"), "json_string")
    try:
        ctx.set("result", parse_json(text, "json_string"))
        ctx.activate("exec_out")
        return
    except (NodeError, RecursionError):
        pass
    starts = [k for k in (text.find("{"), text.find("[")) if k >= 0]
    if not starts:
        raise NodeError("input 'json_string' holds no JSON object or array to repair")
    import json_repair

    try:
        repaired = json_repair.loads(text[min(starts):])
    except (ValueError, RecursionError) as exc:
        raise NodeError(f"input 'json_string' could not be repaired: {exc}") from None
    if not isinstance(repaired, (dict, list)) or not _all_finite(repaired):
        raise NodeError("input 'json_string' could not be repaired into a JSON object or array")
    ctx.set("result", repaired)
    ctx.activate("exec_out")


def _schema_of(value: Any) -> Any:
    """The schema schemars' schema_for_value! derives for a JSON value (true means "anything")."""
    if value is None:
        return True
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string"}
    if isinstance(value, list):
        variants: list[Any] = []
        for item in value:
            schema = _schema_of(item)
            if schema is True:
                variants = [True]
                break
            if schema not in variants:
                variants.append(schema)
        items = True if not variants else variants[0] if len(variants) == 1 else {"anyOf": variants}
        return {"type": "array", "items": items}
    # schemars writes each key as JSON text and trims the quotes from both ends.
    return {"type": "object",
            "properties": {json.dumps(k, ensure_ascii=False).strip('"'): _schema_of(v) for k, v in value.items()}}


@register("utils_json_make_schema", "Make Tool Schema", "Utils/JSON",
          "Derives a JSON Schema (2020-12) from an example JSON value, e.g. for tool definitions.",
          [inp("exec_in", "Input", "Execution", description="Derive."),
           inp("example_json", "Example JSON", "String", description="An example value as JSON text."),
           out("exec_out", "Execution Output", "Execution", description="Fires after deriving."),
           out("schema", "Schema", "Struct", description="The schema, with the example under 'examples'.")])
def utils_json_make_schema(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    example = parse_json(as_str(ctx.get("example_json"), "example_json"), "example_json")
    schema = _schema_of(example)
    schema = dict(schema) if isinstance(schema, dict) else {}
    schema["examples"] = [example]
    schema["$schema"] = _DRAFT_2020_12
    ctx.set("schema", schema)
    ctx.activate("exec_out")
