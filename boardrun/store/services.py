"""Listing and reading public apps, with search and keyset pagination."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, cast, func, or_, select
from sqlalchemy.orm import Session

from boardrun.apps.models import App, Board, BoardVersion
from boardrun.apps.services import public_app_json
from boardrun.errors import NotFound, Unprocessable
from boardrun.web import iso_time

PUBLIC = "Public"
SORTS = ("newest", "name")


# --- cursors ---------------------------------------------------------------------------
# A cursor is base64url(JSON) of the last item's sort key, bound to the query it came
# from, with a digest so that any change to it is detected (422), not silently obeyed.


def _query_key(sort: str, q: str | None, category: str | None) -> str:
    return hashlib.sha256(json.dumps([sort, q or "", category or ""]).encode()).hexdigest()[:16]


def encode_cursor(sort: str, q: str | None, category: str | None, last: App) -> str:
    key = last.name if sort == "name" else last.created_at.isoformat()  # full precision: keyset pagination
    payload = json.dumps({"s": sort, "q": _query_key(sort, q, category), "k": key, "id": last.id}, separators=(",", ":"))
    digest = hashlib.sha256(payload.encode()).hexdigest()[:16]
    return base64.urlsafe_b64encode(f"{digest}.{payload}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str, q: str | None, category: str | None) -> tuple[Any, str]:
    def bad(why: str) -> Unprocessable:
        return Unprocessable(f"invalid cursor: {why}", details=[{"field": "cursor", "message": why}])

    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        digest, _, payload = raw.partition(".")
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):  # the digest is no secret: anyone can nest one deeply
        raise bad("not a cursor this server issued") from None
    if digest != hashlib.sha256(payload.encode()).hexdigest()[:16] or not isinstance(data, dict):
        raise bad("not a cursor this server issued")
    if data.get("s") != sort or data.get("q") != _query_key(sort, q, category):
        raise bad("it belongs to a different query (q, category or sort changed)")
    key, last_id = data.get("k"), data.get("id")
    if not isinstance(key, str) or not isinstance(last_id, str):
        raise bad("not a cursor this server issued")
    if sort == "newest":
        try:
            key = datetime.fromisoformat(key.replace("Z", "+00:00"))
        except ValueError:
            raise bad("not a cursor this server issued") from None
    return key, last_id


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
    if sort == "name":
        order = (App.name.asc(), App.id.asc())
        if cursor:
            name, last_id = decode_cursor(cursor, sort, q, category)
            stmt = stmt.where(or_(App.name > name, and_(App.name == name, App.id > last_id)))
    else:
        order = (App.created_at.desc(), App.id.desc())
        if cursor:
            created, last_id = decode_cursor(cursor, sort, q, category)
            stmt = stmt.where(or_(App.created_at < created, and_(App.created_at == created, App.id < last_id)))
    rows = list(session.scalars(stmt.order_by(*order).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [public_app_json(a) for a in rows],
        "next_cursor": encode_cursor(sort, q, category, rows[-1]) if more and rows else None,
    }


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
