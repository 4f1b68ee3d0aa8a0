"""The JSON the app, team and board endpoints take (the schemas their views validate
with; a board is boardrun.apps.board_schema's) and answer (OpenAPI components)."""

from __future__ import annotations

from typing import Any

from boardrun.accounts.schemas import EMAIL
from boardrun.apps.permissions import ADMIN_ROLE, MEMBER_ROLE

VISIBILITIES = ("Private", "Public")
STATUSES = ("Active", "Inactive", "Archived")
EXECUTION_MODES = ("Any", "Local", "Remote")
# Flow-Like's app categories, spelt as its API JSON spells them.
CATEGORIES = (
    "Other", "Productivity", "Social", "Entertainment", "Education", "Health", "Finance", "Lifestyle",
    "Travel", "News", "Sports", "Shopping", "FoodAndDrink", "Music", "Photography", "Utilities",
    "Weather", "Games", "Business", "Communication", "Anime",
)  # fmt: skip
_TAGS = {"type": "array", "maxItems": 50, "items": {"type": "string", "minLength": 1, "maxLength": 64}}
_CATEGORY = {"enum": [*CATEGORIES, None]}
_COMMON = {
    "name": {"type": "string", "minLength": 1, "maxLength": 200},
    "description": {"type": ["string", "null"], "maxLength": 10_000},
    "tags": _TAGS,
    "visibility": {"enum": list(VISIBILITIES)},
    "primary_category": _CATEGORY,
    "secondary_category": _CATEGORY,
}
APP_CREATE = {"type": "object", "required": ["name"], "additionalProperties": False, "properties": _COMMON}
APP_UPDATE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        **_COMMON,
        "changelog": {"type": ["string", "null"], "maxLength": 100_000},
        "version": {"type": ["string", "null"], "maxLength": 32},
        "execution_mode": {"enum": list(EXECUTION_MODES)},
        "status": {"enum": list(STATUSES)},
    },
}
TEAM_INVITE = {
    "type": "object",
    "required": ["email", "role"],
    "additionalProperties": False,
    "properties": {
        "email": {"type": "string", "pattern": EMAIL.pattern, "maxLength": 320},
        "role": {"enum": [ADMIN_ROLE, MEMBER_ROLE]},
        "message": {"type": ["string", "null"], "maxLength": 1000},
    },
}

# What anyone who may see an app sees (`services.public_app_json`): the store lists exactly
# these, and an app's members see them plus the fields of `App` below (`services.app_json`).
PUBLIC_APP_PROPERTIES: dict[str, Any] = {
    "id": {"type": "string"},
    "name": {"type": "string"},
    "description": {"type": ["string", "null"]},
    "tags": {"type": "array", "items": {"type": "string"}},
    "primary_category": {"type": ["string", "null"]},
    "secondary_category": {"type": ["string", "null"]},
    "version": {"type": ["string", "null"]},
    "changelog": {"type": ["string", "null"]},
    "execution_mode": {"type": "string"},
    "status": {"type": "string"},
    "created_at": {"type": ["string", "null"], "format": "date-time"},
    "updated_at": {"type": ["string", "null"], "format": "date-time"},
}

COMPONENTS: dict[str, dict[str, Any]] = {
    "AppCreate": APP_CREATE,
    "AppUpdate": APP_UPDATE,
    "TeamInvite": TEAM_INVITE,
    "App": {
        "type": "object",
        "properties": {
            **PUBLIC_APP_PROPERTIES,
            "visibility": {"enum": ["Private", "Public"]},
            "boards": {"type": "array", "items": {"type": "string"}},
            "role": {"type": ["string", "null"]},
            "permissions": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["id", "name"],
    },
    "AppPage": {
        "type": "object",
        "properties": {
            "apps": {"type": "array", "items": {"$ref": "#/components/schemas/App"}},
            "next_cursor": {"type": ["string", "null"]},
        },
        "required": ["apps", "next_cursor"],
    },
    "Member": {
        "type": "object",
        "properties": {
            "user_id": {"type": "string"},
            "email": {"type": "string"},
            "name": {"type": ["string", "null"]},
            "username": {"type": ["string", "null"]},
            "role": {"type": "string"},
            "joined_at": {"type": ["string", "null"], "format": "date-time"},
        },
        "required": ["user_id", "role"],
    },
    "MemberList": {
        "type": "object",
        "properties": {"members": {"type": "array", "items": {"$ref": "#/components/schemas/Member"}}},
        "required": ["members"],
    },
    "BoardSaved": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "revision": {"type": "integer"},
            "size_bytes": {"type": "integer"},
            "warnings": {"type": "array", "items": {}},
        },
    },
    "BoardSummary": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "description": {"type": ["string", "null"]},
            "revision": {"type": "integer"},
            "size_bytes": {"type": "integer"},
            "updated_at": {"type": ["string", "null"], "format": "date-time"},
            "latest_version": {"type": ["string", "null"]},
        },
    },
    "BoardList": {
        "type": "object",
        "properties": {"boards": {"type": "array", "items": {"$ref": "#/components/schemas/BoardSummary"}}},
        "required": ["boards"],
    },
    "BoardVersion": {
        "type": "object",
        "properties": {
            "version": {"type": "array", "items": {"type": "integer"}},
            "label": {"type": "string"},
            "created_at": {"type": ["string", "null"], "format": "date-time"},
            "size_bytes": {"type": "integer"},
        },
    },
    "BoardVersionList": {
        "type": "object",
        "properties": {"versions": {"type": "array", "items": {"$ref": "#/components/schemas/BoardVersion"}}},
        "required": ["versions"],
    },
    "SentInvitation": {
        "type": "object",
        "required": ["id", "app_id", "email", "role", "expires_at"],
        "properties": {
            "id": {"type": "string"},
            "app_id": {"type": "string"},
            "email": {"type": "string"},
            "role": {"type": "string"},
            "message": {"type": ["string", "null"]},
            "created_at": {"type": "string", "format": "date-time"},
            "expires_at": {"type": "string", "format": "date-time"},
        },
    },
    "SentInvitationList": {
        "type": "object",
        "required": ["invites"],
        "properties": {"invites": {"type": "array", "items": {"$ref": "#/components/schemas/SentInvitation"}}},
    },
}
