"""Listing and reading public apps, with search and keyset pagination."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, cast, func, or_, select
from sqlalchemy.orm import Session

from boardrun import cursors
from boardrun.apps.models import App, Board, BoardVersion
from boardrun.apps.services import public_app_json
from boardrun.errors import NotFound
from boardrun.web import iso_time

PUBLIC = "Public"
SORTS = ("newest", "name")


# --- queries -----------------------------------------------------------------------------


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_public(
    session: Session, *, q: str | None, category: str | None, sort: str, limit: int, cursor: str | None
) -> dict[str, Any]:
    stmt = select(App).where(App.visibility == PUBLIC)
    if q:
        pattern = _like(q)
        stmt = stmt.where(
            or_(
                func.lower(App.name).like(pattern, escape="\\"),
                func.lower(func.coalesce(App.description, "")).like(pattern, escape="\\"),
                func.lower(cast(App.tags, String)).like(pattern, escape="\\"),
            )
        )
    if category:
        stmt = stmt.where(or_(App.primary_category == category, App.secondary_category == category))
    # the sort is part of the scope: a cursor's key is a name or a time, by the sort it came from
    scope = {"sort": sort, "q": q, "category": category}
    if sort == "name":
        order = (App.name.asc(), App.id.asc())
        if cursor:
            name, last_id = cursors.decode(cursor, "store", scope, (str, str))
            stmt = stmt.where(or_(App.name > name, and_(App.name == name, App.id > last_id)))
    else:
        order = (App.created_at.desc(), App.id.desc())
        if cursor:
            created, last_id = cursors.decode(cursor, "store", scope, (datetime, str))
            stmt = stmt.where(or_(App.created_at < created, and_(App.created_at == created, App.id < last_id)))
    rows = list(session.scalars(stmt.order_by(*order).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    if more and rows:
        last = rows[-1]
        next_cursor = cursors.encode("store", scope, (last.name if sort == "name" else last.created_at, last.id))
    else:
        next_cursor = None
    return {"items": [public_app_json(a) for a in rows], "next_cursor": next_cursor}


def get_public(session: Session, app_id: str) -> dict[str, Any]:
    app = session.get(App, app_id)
    if app is None or app.visibility != PUBLIC:
        # the same answer for a private app as for none at all: nothing leaks
        raise NotFound(f"no public app {app_id!r} in the store", code="not_found")
    boards = list(session.scalars(select(Board).where(Board.app_id == app.id).order_by(Board.name, Board.id)))
    versions = session.scalars(
        select(BoardVersion)
        .where(BoardVersion.app_id == app.id)
        .order_by(BoardVersion.board_id, BoardVersion.major.desc(), BoardVersion.minor.desc(), BoardVersion.patch.desc())
    )
    by_board: dict[str, list[dict[str, Any]]] = {}
    for v in versions:
        by_board.setdefault(v.board_id, []).append(
            {"version": v.label, "major": v.major, "minor": v.minor, "patch": v.patch, "created_at": iso_time(v.created_at)}
        )
    return {
        **public_app_json(app),
        "boards": [
            {
                "id": b.id,
                "name": b.name,
                "description": b.description,
                "updated_at": iso_time(b.updated_at),
                "versions": by_board.get(b.id, []),
            }
            for b in boards
        ],
    }
