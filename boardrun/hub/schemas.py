"""What the hub endpoints answer (OpenAPI components): the hub, version, info pages and the node catalog."""

from __future__ import annotations

from typing import Any

COMPONENTS: dict[str, dict[str, Any]] = {
    "Page": {
        "type": "object",
        "properties": {"url": {"type": ["string", "null"]}, "text": {"type": ["string", "null"]}},
        "required": ["url", "text"],
    },
    "Contact": {
        "type": "object",
        "properties": {
            "name": {"type": ["string", "null"]},
            "email": {"type": ["string", "null"]},
            "url": {"type": ["string", "null"]},
        },
        "required": ["name", "email", "url"],
    },
    "Features": {
        "type": "object",
        "properties": {
            "model_hosting": {"type": "boolean"},
            "flow_hosting": {"type": "boolean"},
            "governance": {"type": "boolean"},
            "ai_act": {"type": "boolean"},
            "unauthorized_read": {"type": "boolean"},
            "admin_interface": {"type": "boolean"},
            "premium": {"type": "boolean"},
            "wasm_registry": {"type": "boolean"},
            "password_sign_in": {"type": "boolean"},
            "registration": {"type": "boolean"},
            "oauth_sign_in": {"type": "boolean"},
            "store": {"type": "boolean"},
            "catalog": {"type": "boolean"},
            "apps": {"type": "boolean"},
            "jobs": {"type": "boolean"},
            "job_cancel": {"type": "boolean"},
            "execution": {"type": "boolean"},
            "oauth_providers": {"type": "array", "items": {"type": "string"}},
        },
    },
    "SignInMethod": {
        "type": "object",
        "properties": {
            "method": {"enum": ["password", "oauth"]},
            "login_url": {"type": "string"},
            "register_url": {"type": ["string", "null"]},
            "refresh_url": {"type": ["string", "null"]},
            "id": {"type": "string"},
            "name": {"type": "string"},
            "kind": {"enum": ["oidc", "github"]},
            "url": {"type": "string", "description": "start URL: GET it to be redirected to the provider"},
        },
        "required": ["method"],
    },
    "Hub": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "description": {"type": "string"},
            "icon": {"type": ["string", "null"]},
            "thumbnail": {"type": ["string", "null"]},
            "version": {"type": "string"},
            "environment": {"enum": ["embedded", "production"]},
            "public_url": {"type": "string"},
            "authentication": {
                "type": "object",
                "properties": {"sign_in": {"type": "array", "items": {"$ref": "#/components/schemas/SignInMethod"}}},
                "required": ["sign_in"],
            },
            "features": {"$ref": "#/components/schemas/Features"},
            "legal_notice": {
                "type": "object",
                "properties": {"url": {"type": ["string", "null"]}, "path": {"type": "string"}},
            },
            "privacy_policy": {
                "type": "object",
                "properties": {"url": {"type": ["string", "null"]}, "path": {"type": "string"}},
            },
            "terms_of_service": {
                "type": "object",
                "properties": {"url": {"type": ["string", "null"]}, "path": {"type": "string"}},
            },
            "contact": {"$ref": "#/components/schemas/Contact"},
            "links": {"type": "object", "additionalProperties": {"type": ["string", "null"]}},
        },
        "required": ["name", "description", "version", "authentication", "features", "links"],
    },
    "Version": {
        "type": "object",
        "properties": {"version": {"type": "string"}, "commit": {"type": ["string", "null"]}},
        "required": ["version", "commit"],
    },
    # The catalogue lists nodes in Flow-Like's node JSON shape: the board schema's node.
    "Catalog": {"type": "array", "items": {"$ref": "#/components/schemas/BoardNode"}},
    "ProfileTemplates": {"type": "array", "items": {"$ref": "#/components/schemas/Profile"}},
}
