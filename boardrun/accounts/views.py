"""POST /api/v1/auth/register, /login, /refresh."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from boardrun.accounts import services
from boardrun.db import session_scope
from boardrun.web import json_body, json_response

REGISTER = {
    "type": "object",
    "required": ["email", "password"],
    "additionalProperties": False,
    "properties": {
        "email": {"type": "string", "pattern": services.EMAIL.pattern, "maxLength": 320},
        "password": {"type": "string", "minLength": 8, "maxLength": 1024},
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "username": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{3,64}$"},
    },
}
LOGIN = {
    "type": "object",
    "required": ["email", "password"],
    "additionalProperties": False,
    "properties": {"email": {"type": "string", "maxLength": 320}, "password": {"type": "string", "maxLength": 1024}},
}
REFRESH = {
    "type": "object",
    "required": ["refresh_token"],
    "additionalProperties": False,
    "properties": {"refresh_token": {"type": "string", "minLength": 1, "maxLength": 256}},
}


def register(request: Request) -> Response:
    body = json_body(request, REGISTER)
    with session_scope() as session:
        services.register(
            session, email=body["email"], password=body["password"], name=body.get("name"), username=body.get("username")
        )
    # Same answer whether or not the address was already registered (no account enumeration).
    return json_response(
        {"status": "registered", "message": "if this address was not registered yet, its account now exists; sign in to continue"},
        201,
    )


def login(request: Request) -> Response:
    body = json_body(request, LOGIN)
    with session_scope() as session:
        tokens = services.login(session, email=body["email"], password=body["password"])
    return json_response(tokens, headers={"Cache-Control": "no-store"})


def refresh(request: Request) -> Response:
    body = json_body(request, REFRESH)
    with session_scope() as session:
        tokens = services.refresh(session, refresh_token=body["refresh_token"])
    return json_response(tokens, headers={"Cache-Control": "no-store"})
