"""/api/v1/apps/<app_id>/board[/<board_id>[/version]] — Flow-Like's board paths."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from boardrun.accounts.auth import optional_principal, require_principal
from boardrun.apps import boards
from boardrun.apps.access import require_app_permission
from boardrun.apps.permissions import Permission
from boardrun.config import get_settings
from boardrun.db import session_scope
from boardrun.errors import Unprocessable
from boardrun.web import json_body, json_response, no_content

_REVALIDATE = {"Cache-Control": "private, no-cache"}


def list_boards(request: Request, app_id: str) -> Response:
    principal = optional_principal(request)
    with session_scope() as session:
        require_app_permission(session, app_id, principal, Permission.ReadBoards)
        data = boards.list_boards(session, app_id)
    return json_response({"boards": data}, headers=_REVALIDATE)


def _if_none_match(request: Request, etag: str) -> bool:
    header = request.headers.get("If-None-Match")
    if not header:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


def get_board(request: Request, app_id: str, board_id: str) -> Response:
    principal = optional_principal(request)
    version = request.args.get("version") or None
    with session_scope() as session:
        require_app_permission(session, app_id, principal, Permission.ReadBoards)
        document = boards.read_board(session, app_id, board_id, version)
    headers = {"ETag": document.etag, **_REVALIDATE}
    if _if_none_match(request, document.etag):
        return Response(status=304, headers=headers)
    return Response(document.data, status=200, headers=headers, mimetype="application/json")


def put_board(request: Request, app_id: str, board_id: str) -> Response:
    principal = require_principal(request)
    with session_scope() as session:  # authorize before reading a possibly large body
        require_app_permission(session, app_id, principal, Permission.WriteBoards)
    boards.check_board_id(board_id)
    data = json_body(request, limit=get_settings().server.max_board_bytes)
    boards.check_board_document(board_id, data)
    warnings = boards.engine_warnings(data)
    with session_scope() as session:
        require_app_permission(session, app_id, principal, Permission.WriteBoards)
        saved = boards.save_board(session, app_id, board_id, data, if_match=request.headers.get("If-Match"))
    body = {"id": saved.id, "name": saved.name, "revision": saved.revision, "size_bytes": saved.size_bytes, "warnings": warnings}
    headers = {"ETag": f'"{saved.revision}"'}
    if saved.created:
        headers["Location"] = f"/api/v1/apps/{app_id}/board/{board_id}"
        return json_response(body, 201, headers)
    return json_response(body, 200, headers)


def delete_board(request: Request, app_id: str, board_id: str) -> Response:
    principal = require_principal(request)
    with session_scope() as session:
        require_app_permission(session, app_id, principal, Permission.WriteBoards)
        boards.delete_board_rows(session, app_id, board_id)
    boards.delete_board_storage(app_id, board_id)
    return no_content()


def freeze_board(request: Request, app_id: str, board_id: str) -> Response:
    principal = require_principal(request)
    version_type = request.args.get("version_type")
    with session_scope() as session:
        require_app_permission(session, app_id, principal, Permission.WriteBoards)
        if version_type is None:
            raise Unprocessable(
                "version_type is required: Major, Minor or Patch",
                details=[{"field": "version_type", "message": "required"}],
            )
        triple = boards.freeze_board(session, app_id, board_id, version_type, created_by=principal.user_id)
    body = {"version": list(triple), "label": boards.label(triple)}
    location = f"/api/v1/apps/{app_id}/board/{board_id}?version={boards.label(triple)}"
    return json_response(body, 201, {"Location": location})


def list_versions(request: Request, app_id: str, board_id: str) -> Response:
    principal = optional_principal(request)
    with session_scope() as session:
        require_app_permission(session, app_id, principal, Permission.ReadBoards)
        versions = boards.list_versions(session, app_id, board_id)
    return json_response({"versions": versions}, headers=_REVALIDATE)
