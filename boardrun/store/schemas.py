"""What the store endpoints answer (OpenAPI components)."""

from __future__ import annotations

from typing import Any

from boardrun.apps.schemas import PUBLIC_APP_PROPERTIES

COMPONENTS: dict[str, dict[str, Any]] = {
    "StoreApp": {
        "type": "object",
        "properties": PUBLIC_APP_PROPERTIES,
        "required": ["id", "name", "tags", "created_at", "updated_at"],
    },
    "StoreBoard": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "description": {"type": ["string", "null"]},
            "updated_at": {"type": ["string", "null"], "format": "date-time"},
            "versions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "version": {"type": "string"},
                        "major": {"type": "integer"},
                        "minor": {"type": "integer"},
                        "patch": {"type": "integer"},
                        "created_at": {"type": ["string", "null"], "format": "date-time"},
                    },
                },
            },
        },
        "required": ["id", "name", "versions"],
    },
    "StoreAppDetail": {
        "allOf": [
            {"$ref": "#/components/schemas/StoreApp"},
            {
                "type": "object",
                "properties": {"boards": {"type": "array", "items": {"$ref": "#/components/schemas/StoreBoard"}}},
                "required": ["boards"],
            },
        ],
    },
    "StorePage": {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/StoreApp"}},
            "next_cursor": {"type": ["string", "null"]},
        },
        "required": ["items", "next_cursor"],
    },
}
