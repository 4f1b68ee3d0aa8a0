"""The shapes an event may take: the common fields, and `config` per `event_type`
(Flow-Like's sink field names). Everything a request gets wrong is a 422 naming the field."""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from boardrun.errors import Unprocessable
from boardrun.web import schema_problems

EVENT_TYPES = ("http", "cron", "cloudevent")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
DEFAULT_SIGNATURE_HEADER = "X-Hub-Signature-256"

_NAME = {"type": "string", "minLength": 1, "maxLength": 200}
_OPTIONAL_TEXT = {"type": ["string", "null"], "maxLength": 10_000}
_ID = {"type": "string", "minLength": 1, "maxLength": 128}

EVENT_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["name", "event_type", "board_id"],
    "additionalProperties": False,
    "properties": {
        "name": _NAME,
        "description": _OPTIONAL_TEXT,
        "event_type": {"enum": list(EVENT_TYPES)},
        "active": {"type": "boolean"},
        "board_id": _ID,
        "board_version": {"type": ["string", "null"], "minLength": 1, "maxLength": 32},
        "node_id": {"type": ["string", "null"], "minLength": 1, "maxLength": 128},
        "variables": {"type": "object"},
        "config": {"type": "object"},
        "notes": _OPTIONAL_TEXT,
    },
}

INVOKE_BODY = {"type": "object", "additionalProperties": False, "properties": {"payload": {}}}

# A secret long enough not to be guessed, short enough to store.
_SECRET = {"type": ["string", "null"], "minLength": 16, "maxLength": 512}

CONFIG: dict[str, dict[str, Any]] = {
    "http": {
        "type": "object",
        "required": ["path"],
        "additionalProperties": False,
        "properties": {
            # URL path segments below /api/v1/sink/trigger/http/{app_id}/
            "path": {"type": "string", "minLength": 1, "maxLength": 256,
                     "pattern": r"^[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*\Z"},
            "methods": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": list(HTTP_METHODS)}},
            "auth_token": _SECRET,
            "webhook_secret": _SECRET,
            "signature_header": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": r"^[A-Za-z0-9-]+\Z"},
            "public": {"type": "boolean"},
            "respond_with_result": {"type": "boolean"},
        },
    },
    "cron": {
        "type": "object",
        "required": ["cron_expression"],
        "additionalProperties": False,
        "properties": {
            "cron_expression": {"type": "string", "minLength": 9, "maxLength": 200},
            "cron_timezone": {"type": "string", "minLength": 1, "maxLength": 64},
        },
    },
    "cloudevent": {
        "type": "object",
        "required": ["type"],
        "additionalProperties": False,
        "properties": {
            "type": {"type": "string", "minLength": 1, "maxLength": 256},
            "type_prefix": {"type": "boolean"},
            "source_prefix": {"type": ["string", "null"], "minLength": 1, "maxLength": 256},
            "subject": {"type": ["string", "null"], "minLength": 1, "maxLength": 256},
        },
    },
}

SECRET_FIELDS = ("auth_token", "webhook_secret")


def _refuse(field: str, message: str) -> Unprocessable:
    return Unprocessable(f"{field}: {message}", details=[{"field": field, "message": message}])


def normalized_config(event_type: str, config: dict[str, Any]) -> dict[str, Any]:
    """The config with defaults filled in, or a 422 naming the first bad field. Secrets stay in it
    (the caller moves them out before storing)."""
    problems = schema_problems(config, CONFIG[event_type])
    if problems:
        raise Unprocessable(
            f"config is not valid for event_type '{event_type}'",
            details=[{"field": f"config/{p['field']}", "message": _safe_message(p)} for p in problems],
        )
    if event_type == "http":
        return {
            "path": config["path"],
            "methods": config.get("methods", ["POST"]),
            "auth_token": config.get("auth_token"),
            "webhook_secret": config.get("webhook_secret"),
            "signature_header": config.get("signature_header", DEFAULT_SIGNATURE_HEADER),
            "public": config.get("public", False),
            "respond_with_result": config.get("respond_with_result", False),
        }
    if event_type == "cron":
        expression = " ".join(config["cron_expression"].split())
        timezone = config.get("cron_timezone", "UTC")
        _check_cron(expression, timezone)
        return {"cron_expression": expression, "cron_timezone": timezone}
    return {
        "type": config["type"],
        "type_prefix": config.get("type_prefix", False),
        "source_prefix": config.get("source_prefix"),
        "subject": config.get("subject"),
    }


def _safe_message(problem: dict[str, str]) -> str:
    # jsonschema quotes the offending value: never echo a submitted secret back.
    if problem["field"] in SECRET_FIELDS:
        return "must be a string of 16 to 512 characters, or null"
    return problem["message"]


_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,-]+\Z")


def _check_cron(expression: str, timezone: str) -> None:
    from croniter import croniter

    fields = expression.split(" ")
    if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields) or not croniter.is_valid(expression):
        raise _refuse("config/cron_expression", "must be a 5-field cron expression (minute hour day month weekday)")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise _refuse("config/cron_timezone", "must be an IANA time zone such as Europe/Berlin or UTC") from None


# What the event endpoints answer, and each event type's config (OpenAPI components).
COMPONENTS: dict[str, dict[str, Any]] = {
    "AppEventBody": EVENT_BODY,
    "EventInvoke": INVOKE_BODY,
    "HttpEventConfig": CONFIG["http"],
    "CronEventConfig": CONFIG["cron"],
    "CloudEventConfig": CONFIG["cloudevent"],
    "AppEvent": {
        "type": "object",
        "required": ["id", "app_id", "name", "event_type", "active", "board_id", "config"],
        "properties": {
            "id": {"type": "string"},
            "app_id": {"type": "string"},
            "name": {"type": "string"},
            "description": {"type": ["string", "null"]},
            "event_type": {"enum": ["http", "cron", "cloudevent"]},
            "active": {"type": "boolean"},
            "board_id": {"type": "string"},
            "board_version": {"type": ["string", "null"]},
            "node_id": {"type": ["string", "null"]},
            "variables": {"type": "object"},
            "config": {
                "type": "object",
                "description": "The config without its secrets; http events add has_auth_token and has_webhook_secret",
            },
            "notes": {"type": ["string", "null"]},
            "created_by": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "url": {"type": "string", "description": "http events: the webhook's path on this server"},
        },
    },
    "AppEventList": {
        "type": "object",
        "required": ["events"],
        "properties": {"events": {"type": "array", "items": {"$ref": "#/components/schemas/AppEvent"}}},
    },
    "BrokerOutcome": {
        "type": "object",
        "required": ["status", "jobs"],
        "properties": {"status": {"type": "string"}, "jobs": {"type": "array", "items": {"type": "string"}}},
    },
    "CronOutcome": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}},
}
