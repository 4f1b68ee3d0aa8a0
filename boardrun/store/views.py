"""GET /api/v1/store and /api/v1/store/<app_id>: public apps, no sign-in."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from boardrun.db import session_scope
from boardrun.errors import Unprocessable
from boardrun.store import services
from boardrun.web import json_response, query_int

def _text(request: Request, name: str, max_length: int) -> str | None:
    value = (request.args.get(name) or "").strip()
    if len(value) > max_length:
        raise Unprocessable(
            f"{name} is longer than {max_length} characters",
            details=[{"field": name, "message": f"at most {max_length} characters"}],
        )
    return value or None

def list_apps(request: Request) -> Response:
    sort = request.args.get("sort") or "newest"
    if sort not in services.SORTS:
        raise Unprocessable(
            f"sort must be one of {', '.join(services.SORTS)}",
            details=[{"field": "sort", "message": f"one of {', '.join(services.SORTS)}"}],
        )
    limit = query_int(request, "limit", 20, minimum=1, maximum=100)
    q, category = _text(request, "q", 200), _text(request, "category", 32)
    cursor = request.args.get("cursor") or None
    with session_scope() as session:
        page = services.list_public(session, q=q, category=category, sort=sort, limit=limit, cursor=cursor)
    return json_response(page)

def get_app(request: Request, app_id: str) -> Response:
    with session_scope() as session:
        app = services.get_public(session, app_id)
    return json_response(app)
