"""What the health endpoints answer (OpenAPI components)."""

from __future__ import annotations

from typing import Any

COMPONENTS: dict[str, dict[str, Any]] = {
    "HealthProbe": {
        "type": "object",
        "properties": {
            "status": {"enum": ["healthy", "unavailable"]},
            "version": {"type": "string"},
            "checks": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        "required": ["status", "version"],
    },
    "ApiHealth": {"type": "object", "properties": {"status": {"const": "ok"}}, "required": ["status"]},
    "DbHealth": {
        "type": "object",
        "properties": {"rtt": {"type": "integer", "description": "round trip in ms"}},
        "required": ["rtt"],
    },
}
