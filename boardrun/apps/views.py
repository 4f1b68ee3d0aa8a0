"""/api/v1/apps, /api/v1/apps/<app_id>, /api/v1/apps/<app_id>/team[/<user_id>|/invite|/invites[/<invite_id>]]."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from boardrun.accounts.auth import optional_principal, require_principal
from boardrun import mail
from boardrun.apps import invitations, services
from boardrun.apps.access import require_app_permission
from boardrun.apps.permissions import Permission
from boardrun.apps.schemas import APP_CREATE, APP_UPDATE, TEAM_INVITE
from boardrun.db import session_scope
from boardrun.web import json_body, json_response, no_content, query_int

_PRIVATE = {"Cache-Control": "private, no-cache"}


def list_apps(request: Request) -> Response:
    principal = require_principal(request)
    limit = query_int(request, "limit", 20, minimum=1, maximum=100)
    cursor = request.args.get("cursor") or None
    with session_scope() as session:
        data = services.list_apps(session, principal, limit=limit, cursor=cursor)
    return json_response(data, headers=_PRIVATE)


def create_app(request: Request) -> Response:
    principal = require_principal(request)
    body = json_body(request, APP_CREATE)
    with session_scope() as session:
        data = services.create_app(session, principal, body)
    return json_response(data, 201, {"Location": f"/api/v1/apps/{data['id']}"})


def get_app(request: Request, app_id: str) -> Response:
    principal = optional_principal(request)
    with session_scope() as session:
        access = require_app_permission(session, app_id, principal, Permission.NONE)
        data = services.access_json(session, access)
    return json_response(data, headers=_PRIVATE)


def update_app(request: Request, app_id: str) -> Response:
    principal = require_principal(request)
    body = json_body(request, APP_UPDATE)
    with session_scope() as session:
        access = require_app_permission(session, app_id, principal, Permission.WriteMeta)
        data = services.update_app(session, access, body)
    return json_response(data)


def delete_app(request: Request, app_id: str) -> Response:
    principal = require_principal(request)
    with session_scope() as session:
        access = require_app_permission(session, app_id, principal, Permission.Owner)
        services.delete_app_rows(session, access)
    # Only after the rows are committed; a storage failure leaves unreachable objects, logged.
    services.delete_app_storage(app_id)
    return no_content()


def list_team(request: Request, app_id: str) -> Response:
    principal = require_principal(request)
    with session_scope() as session:
        require_app_permission(session, app_id, principal, Permission.ReadTeam)
        members = services.list_team(session, app_id)
    return json_response({"members": members}, headers=_PRIVATE)


def invite_member(request: Request, app_id: str) -> Response:
    principal = require_principal(request)
    with session_scope() as session:
        # Membership is checked before the body, so outsiders learn nothing from validation errors.
        access = require_app_permission(session, app_id, principal, Permission.ReadTeam)
        body = json_body(request, TEAM_INVITE)
        data, message = invitations.invite(session, access, principal.user_id, body["email"], body["role"], body.get("message"))
    mail.send(message)  # after the commit; sent whether or not the address has an account
    return json_response(data, 202)


def list_invitations(request: Request, app_id: str) -> Response:
    principal = require_principal(request)
    with session_scope() as session:
        access = require_app_permission(session, app_id, principal, Permission.ReadTeam)
        data = invitations.pending(session, access)
    return json_response({"invites": data}, headers=_PRIVATE)


def revoke_invitation(request: Request, app_id: str, invite_id: str) -> Response:
    principal = require_principal(request)
    with session_scope() as session:
        access = require_app_permission(session, app_id, principal, Permission.ReadTeam)
        invitations.revoke(session, access, invite_id)
    return no_content()


def remove_member(request: Request, app_id: str, user_id: str) -> Response:
    principal = require_principal(request)
    with session_scope() as session:
        access = require_app_permission(session, app_id, principal, Permission.ReadTeam)
        services.remove_member(session, access, user_id)
    return no_content()
