"""GET|PUT /api/v1/user, /api/v1/user/invites[/<invite_id>] and /api/v1/profile[/<profile_id>]."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from boardrun.accounts.auth import require_principal
from boardrun.apps import invitations
from boardrun.db import session_scope
from boardrun.users import services
from boardrun.users.schemas import PROFILE_CREATE, PROFILE_UPDATE, USER_UPDATE
from boardrun.web import json_body, json_response, no_content

_NO_STORE = {"Cache-Control": "no-store"}


def get_user(request: Request) -> Response:
    principal = require_principal(request)
    with session_scope() as session:
        data = services.user_json(services.get_user(session, principal.user_id))
    return json_response(data, headers=_NO_STORE)


def put_user(request: Request) -> Response:
    principal = require_principal(request)
    body = json_body(request, USER_UPDATE)
    with session_scope() as session:
        data = services.user_json(services.update_user(session, principal.user_id, body))
    return json_response(data, headers=_NO_STORE)


def list_profiles(request: Request) -> Response:
    principal = require_principal(request)
    with session_scope() as session:
        profiles = [services.profile_json(p) for p in services.list_profiles(session, principal.user_id)]
    return json_response({"profiles": profiles}, headers=_NO_STORE)


def create_profile(request: Request) -> Response:
    principal = require_principal(request)
    body = json_body(request, PROFILE_CREATE)
    with session_scope() as session:
        data = services.profile_json(services.create_profile(session, principal.user_id, body))
    return json_response(data, 201, {"Location": f"/api/v1/profile/{data['id']}"})


def get_profile(request: Request, profile_id: str) -> Response:
    principal = require_principal(request)
    with session_scope() as session:
        data = services.profile_json(services.get_profile(session, principal.user_id, profile_id))
    return json_response(data, headers=_NO_STORE)


def put_profile(request: Request, profile_id: str) -> Response:
    principal = require_principal(request)
    body = json_body(request, PROFILE_UPDATE)
    with session_scope() as session:
        data = services.profile_json(services.update_profile(session, principal.user_id, profile_id, body))
    return json_response(data)


def delete_profile(request: Request, profile_id: str) -> Response:
    principal = require_principal(request)
    with session_scope() as session:
        services.delete_profile(session, principal.user_id, profile_id)
    return no_content()


def list_invites(request: Request) -> Response:
    principal = require_principal(request)
    with session_scope() as session:
        invites = invitations.list_invites(session, principal.user_id)
    return json_response({"invites": invites}, headers=_NO_STORE)


def accept_invite(request: Request, invite_id: str) -> Response:
    principal = require_principal(request)
    with session_scope() as session:
        data = invitations.accept(session, principal.user_id, invite_id)
    return json_response(data)


def decline_invite(request: Request, invite_id: str) -> Response:
    principal = require_principal(request)
    with session_scope() as session:
        invitations.decline(session, principal.user_id, invite_id)
    return no_content()
