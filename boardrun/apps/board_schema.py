"""Our own JSON Schema (draft 2020-12) of Flow-Like's board document.

Written from the facts of the format (field names, JSON types, enum values, which
fields are required); none of Flow-Like's schema text is reproduced. Unknown fields
are tolerated everywhere so boards saved by newer Flow-Like versions still load.
Pin and variable `default_value`s are the UTF-8 bytes of a JSON text, as a list of
0-255 integers, or null.
"""

from __future__ import annotations

from typing import Any

PIN_TYPES = ["Input", "Output"]
DATA_TYPES = ["Execution", "String", "Integer", "Float", "Boolean", "Date", "PathBuf", "Generic", "Struct", "Byte"]
VALUE_TYPES = ["Array", "Normal", "HashMap", "HashSet"]
STAGES = ["Dev", "Int", "QA", "PreProd", "Prod"]
LOG_LEVELS = ["Debug", "Info", "Warn", "Error", "Fatal"]
COMMENT_TYPES = ["Text", "Image", "Video"]
LAYER_TYPES = ["Function", "Macro", "Collapsed"]

_UINT = {"type": "integer", "minimum": 0}
_U8 = {"type": "integer", "minimum": 0, "maximum": 255}
_U16 = {"type": "integer", "minimum": 0, "maximum": 65535}
_U32 = {"type": "integer", "minimum": 0, "maximum": 4294967295}
_U64 = {"type": ["integer", "null"], "minimum": 0, "maximum": 18446744073709551615}
_OPT_STR = {"type": ["string", "null"]}
_OPT_BOOL = {"type": ["boolean", "null"]}
_TRIPLE = {"type": "array", "minItems": 3, "maxItems": 3, "items": {"type": "number"}}
_OPT_TRIPLE = {"type": ["array", "null"], "minItems": 3, "maxItems": 3, "items": {"type": "number"}}
_BYTES = {"type": ["array", "null"], "items": _U8}
_IDS = {"type": "array", "uniqueItems": True, "items": {"type": "string"}}
_TIME = {
    "type": "object",
    "required": ["secs_since_epoch", "nanos_since_epoch"],
    "properties": {"secs_since_epoch": _UINT, "nanos_since_epoch": _U32},
}


def _map_of(ref: str) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": {"$ref": f"#/$defs/{ref}"}}


PIN = {
    "type": "object",
    "required": [
        "id", "name", "friendly_name", "description", "pin_type", "data_type", "value_type",
        "depends_on", "connected_to", "index",
    ],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "friendly_name": {"type": "string"},
        "description": {"type": "string"},
        "pin_type": {"enum": PIN_TYPES},
        "data_type": {"enum": DATA_TYPES},
        "value_type": {"enum": VALUE_TYPES},
        "schema": _OPT_STR,
        "depends_on": _IDS,
        "connected_to": _IDS,
        "default_value": _BYTES,
        "index": _U16,
        "options": {
            "type": ["object", "null"],
            "properties": {
                "sensitive": _OPT_BOOL,
                "valid_values": {"type": ["array", "null"], "items": {"type": "string"}},
                "range": {"type": ["array", "null"], "minItems": 2, "maxItems": 2, "items": {"type": "number"}},
                "step": {"type": ["number", "null"]},
                "enforce_schema": _OPT_BOOL,
                "enforce_generic_value_type": _OPT_BOOL,
            },
        },
    },
}  # fmt: skip

NODE = {
    "type": "object",
    "required": ["id", "name", "friendly_name", "description", "category", "pins"],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "friendly_name": {"type": "string"},
        "description": {"type": "string"},
        "category": {"type": "string"},
        "coordinates": _OPT_TRIPLE,
        "pins": _map_of("pin"),
        "scores": {
            "type": ["object", "null"],
            "required": ["privacy", "security", "performance", "governance"],
            "properties": {k: _U8 for k in ("privacy", "security", "performance", "governance")},
        },
        "start": _OPT_BOOL,
        "icon": _OPT_STR,
        "comment": _OPT_STR,
        "long_running": _OPT_BOOL,
        "error": _OPT_STR,
        "docs": _OPT_STR,
        "event_callback": _OPT_BOOL,
        "layer": _OPT_STR,
        "hash": _U64,
    },
}

VARIABLE = {
    "type": "object",
    "required": ["id", "name", "data_type", "value_type", "exposed", "secret", "editable"],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "category": _OPT_STR,
        "description": _OPT_STR,
        "default_value": _BYTES,
        "data_type": {"enum": DATA_TYPES},
        "value_type": {"enum": VALUE_TYPES},
        "exposed": {"type": "boolean"},
        "secret": {"type": "boolean"},
        "editable": {"type": "boolean"},
        "hash": _U64,
    },
}

COMMENT = {
    "type": "object",
    "required": ["id", "content", "comment_type", "timestamp", "coordinates"],
    "properties": {
        "id": {"type": "string"},
        "author": _OPT_STR,
        "content": {"type": "string"},
        "comment_type": {"enum": COMMENT_TYPES},
        "timestamp": _TIME,
        "coordinates": _TRIPLE,
        "width": {"type": ["number", "null"]},
        "height": {"type": ["number", "null"]},
        "layer": _OPT_STR,
        "color": _OPT_STR,
        "z_index": {"type": ["integer", "null"]},
        "hash": _U64,
        "is_locked": _OPT_BOOL,
    },
}

LAYER = {
    "type": "object",
    "required": ["id", "name", "type", "nodes", "variables", "comments", "coordinates", "pins"],
    "properties": {
        "id": {"type": "string"},
        "parent_id": _OPT_STR,
        "name": {"type": "string"},
        "type": {"enum": LAYER_TYPES},
        "nodes": _map_of("node"),
        "variables": _map_of("variable"),
        "comments": _map_of("comment"),
        "coordinates": _TRIPLE,
        "in_coordinates": _OPT_TRIPLE,
        "out_coordinates": _OPT_TRIPLE,
        "pins": _map_of("pin"),
        "comment": _OPT_STR,
        "error": _OPT_STR,
        "color": _OPT_STR,
        "hash": _U64,
    },
}

BOARD_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": [
        "id", "name", "description", "nodes", "variables", "comments", "viewport", "version",
        "stage", "log_level", "refs", "layers", "created_at", "updated_at",
    ],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string", "maxLength": 200},
        "description": {"type": "string"},
        "nodes": _map_of("node"),
        "variables": _map_of("variable"),
        "comments": _map_of("comment"),
        "viewport": _TRIPLE,
        "version": {"type": "array", "minItems": 3, "maxItems": 3, "items": _U32},
        "stage": {"enum": STAGES},
        "log_level": {"enum": LOG_LEVELS},
        "execution_mode": {"enum": ["Hybrid", "Remote", "Local"]},
        "refs": {"type": "object", "additionalProperties": {"type": "string"}},
        "layers": _map_of("layer"),
        "page_ids": {"type": "array", "items": {"type": "string"}},
        "created_at": _TIME,
        "updated_at": _TIME,
    },
    "$defs": {"pin": PIN, "node": NODE, "variable": VARIABLE, "comment": COMMENT, "layer": LAYER},
}  # fmt: skip

__all__ = ["BOARD_SCHEMA", "DATA_TYPES", "PIN_TYPES", "VALUE_TYPES"]
