"""The JSON the user and profile endpoints take (the schemas their views validate with)
and answer (OpenAPI components)."""

from __future__ import annotations

from typing import Any

_SHORT = {"type": ["string", "null"], "maxLength": 200}
_URL = {"type": ["string", "null"], "maxLength": 2048}
_WORDS = {"type": "array", "maxItems": 100, "items": {"type": "string", "minLength": 1, "maxLength": 100}}

USER_UPDATE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": _SHORT,
        "username": {"type": ["string", "null"], "pattern": "^[A-Za-z0-9_.-]{3,64}(?!\n)$"},
        "description": {"type": ["string", "null"], "maxLength": 10_000},
        "avatar": _URL,
        "accepted_terms_version": {"type": ["string", "null"], "maxLength": 32},
        "tutorial_completed": {"type": "boolean"},
    },
}

_PROFILE_PROPERTIES = {
    "name": {"type": "string", "minLength": 1, "maxLength": 200},
    "description": {"type": ["string", "null"], "maxLength": 10_000},
    "icon": _URL,
    "thumbnail": _URL,
    "interests": _WORDS,
    "tags": _WORDS,
    "theme": {},  # free-form JSON, as in Flow-Like
    "settings": {"type": "object"},
}
PROFILE_CREATE = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": _PROFILE_PROPERTIES,
}
PROFILE_UPDATE = {"type": "object", "additionalProperties": False, "properties": _PROFILE_PROPERTIES}

COMPONENTS: dict[str, dict[str, Any]] = {
    "UserUpdate": USER_UPDATE,
    "ProfileCreate": PROFILE_CREATE,
    "ProfileUpdate": PROFILE_UPDATE,
    "Profile": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "description": {"type": ["string", "null"]},
            "icon": {"type": ["string", "null"]},
            "thumbnail": {"type": ["string", "null"]},
            "interests": {"type": "array", "items": {"type": "string"}},
            "tags": {"type": "array", "items": {"type": "string"}},
            "theme": {},
            "settings": {"type": "object"},
            "created_at": {"type": ["string", "null"], "format": "date-time"},
            "updated_at": {"type": ["string", "null"], "format": "date-time"},
        },
        "required": ["id", "name", "interests", "tags", "settings", "created_at", "updated_at"],
    },
    "ProfileList": {
        "type": "object",
        "properties": {"profiles": {"type": "array", "items": {"$ref": "#/components/schemas/Profile"}}},
        "required": ["profiles"],
    },
    "User": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "email": {"type": "string"},
            "name": {"type": ["string", "null"]},
            "username": {"type": ["string", "null"]},
            "description": {"type": ["string", "null"]},
            "avatar": {"type": ["string", "null"]},
            "accepted_terms_version": {"type": ["string", "null"]},
            "tutorial_completed": {"type": "boolean"},
            "email_verified": {
                "type": "boolean",
                "description": "False until the address is confirmed (POST /api/v1/auth/verify-email) or vouched for by a sign-in provider",
            },
            "status": {"type": "string"},
            "tier": {"type": "string"},
            "created_at": {"type": ["string", "null"], "format": "date-time"},
            "updated_at": {"type": ["string", "null"], "format": "date-time"},
        },
        "required": ["id", "email"],
    },
    "Invitation": {
        "type": "object",
        "required": ["id", "app_id", "app_name", "role", "expires_at"],
        "properties": {
            "id": {"type": "string"},
            "app_id": {"type": "string"},
            "app_name": {"type": "string"},
            "role": {"type": "string"},
            "message": {"type": ["string", "null"]},
            "invited_by": {
                "type": ["object", "null"],
                "properties": {"user_id": {"type": "string"}, "name": {"type": ["string", "null"]}},
            },
            "created_at": {"type": "string", "format": "date-time"},
            "expires_at": {"type": "string", "format": "date-time"},
        },
    },
    "InvitationList": {
        "type": "object",
        "required": ["invites"],
        "properties": {"invites": {"type": "array", "items": {"$ref": "#/components/schemas/Invitation"}}},
    },
    "JoinedApp": {
        "type": "object",
        "required": ["app_id", "user_id", "role"],
        "properties": {
            "app_id": {"type": "string"},
            "user_id": {"type": "string"},
            "role": {"type": "string"},
            "joined_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
}
