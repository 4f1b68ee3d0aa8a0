"""The JSON the auth endpoints take (the schemas their views validate with) and answer
(OpenAPI components)."""

from __future__ import annotations

import re
from typing import Any

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+\Z")

# writeOnly: a 422 about these fields never quotes the submitted value (boardrun.web).
_SECRET = {"type": "string", "writeOnly": True}
REGISTER = {
    "type": "object",
    "required": ["email", "password"],
    "additionalProperties": False,
    "properties": {
        "email": {"type": "string", "pattern": EMAIL.pattern, "maxLength": 320},
        "password": {**_SECRET, "minLength": 8, "maxLength": 1024},
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "username": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{3,64}(?!\n)$"},
    },
}
LOGIN = {
    "type": "object",
    "required": ["email", "password"],
    "additionalProperties": False,
    "properties": {"email": {"type": "string", "maxLength": 320}, "password": {**_SECRET, "maxLength": 1024}},
}
REFRESH = {
    "type": "object",
    "required": ["refresh_token"],
    "additionalProperties": False,
    "properties": {"refresh_token": {**_SECRET, "minLength": 1, "maxLength": 256}},
}
VERIFY = {
    "type": "object",
    "required": ["token"],
    "additionalProperties": False,
    "properties": {"token": {**_SECRET, "minLength": 1, "maxLength": 256}},
}

COMPONENTS: dict[str, dict[str, Any]] = {
    "RegisterRequest": REGISTER,
    "LoginRequest": LOGIN,
    "RefreshRequest": REFRESH,
    "VerifyEmailRequest": VERIFY,
    "TokenPair": {
        "type": "object",
        "properties": {
            "access_token": {"type": "string"},
            "refresh_token": {"type": "string"},
            "token_type": {"const": "Bearer"},
            "expires_in": {"type": "integer"},
        },
        "required": ["access_token", "refresh_token", "token_type", "expires_in"],
    },
    "Registered": {"type": "object", "properties": {"status": {"type": "string"}, "message": {"type": "string"}}},
    "VerificationStatus": {
        "type": "object",
        "required": ["status"],
        "properties": {"status": {"enum": ["verified", "sent", "already_verified"]}},
    },
}
