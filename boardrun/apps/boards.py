"""Boards: documents in object storage, indexed in the database.

Storage keys:
- working copy:    apps/<app_id>/boards/<board_id>.json
- frozen version:  apps/<app_id>/boards/<board_id>/versions/<maj>_<min>_<patch>.json

Public for the jobs team: `resolve_board(session, app_id, board_id, version) -> ResolvedBoard`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from boardrun.apps.models import Board, BoardVersion
from boardrun.db import utcnow
from boardrun.errors import Conflict, NotFound, PreconditionFailed, Unprocessable
from boardrun.ids import CLIENT_ID
from boardrun.web import iso_time

_VERSION = re.compile(r"(\d{1,9})[._](\d{1,9})[._](\d{1,9})")
VERSION_TYPES = ("Major", "Minor", "Patch")
MAX_PROBLEMS = 100  # schema problems listed in one 422


def working_key(app_id: str, board_id: str) -> str:
    return f"apps/{app_id}/boards/{board_id}.json"


def versions_prefix(app_id: str, board_id: str) -> str:
    return f"apps/{app_id}/boards/{board_id}"


def version_key(app_id: str, board_id: str, version: tuple[int, int, int]) -> str:
    return f"apps/{app_id}/boards/{board_id}/versions/{version[0]}_{version[1]}_{version[2]}.json"


def label(version: tuple[int, int, int]) -> str:
    return f"{version[0]}.{version[1]}.{version[2]}"


def parse_version(text: str, field: str = "version") -> tuple[int, int, int]:
    """'1.2.3' or '1_2_3' -> (1, 2, 3); anything else is a 422 naming `field`."""
    match = _VERSION.fullmatch(text or "")
    if match is None:
        raise Unprocessable(
            f"{field} must look like 1.2.3 (or 1_2_3), got {text!r}",
            details=[{"field": field, "message": "expected MAJOR.MINOR.PATCH"}],
        )
    return int(match[1]), int(match[2]), int(match[3])


def check_board_id(board_id: str) -> str:
    if not CLIENT_ID.fullmatch(board_id):
        raise Unprocessable(
            "board id must be 1-128 letters, digits, '_' or '-', starting with a letter or digit",
            details=[{"field": "board_id", "message": "invalid board id"}],
        )
    return board_id


def _storage():
    from boardrun.storage import get_storage

    return get_storage()


# --- resolving a board for a run (the jobs team codes against this) ------------------


@dataclass(frozen=True)
class ResolvedBoard:
    app_id: str
    board_id: str
    version: str  # "1.2.0" or "draft"
    storage_key: str
    # A frozen version's identity (row id and freezing time): a board deleted and created
    # again may freeze the same version number under the same key. None: the working copy.
    revision: str | None = None

    def load(self) -> dict:
        """Read and parse the board document from storage."""
        from boardrun.storage import StorageNotFound

        try:
            raw = _storage().get(self.storage_key)
        except StorageNotFound:
            raise NotFound(
                f"board {self.board_id} version {self.version} is indexed but its document is missing",
                code="board_document_missing",
            ) from None
        return json.loads(raw)


def _board_row(session: Session, app_id: str, board_id: str, *, lock: bool = False) -> Board:
    query = select(Board).where(Board.app_id == app_id, Board.id == board_id)
    if lock:
        query = query.with_for_update()
    board = session.scalar(query)
    if board is None:
        raise NotFound(f"no board {board_id} in app {app_id}", code="board_not_found")
    return board


_NEWEST_FIRST = (BoardVersion.major.desc(), BoardVersion.minor.desc(), BoardVersion.patch.desc())


def _versions_query(app_id: str, board_id: str):
    return (select(BoardVersion)
            .where(BoardVersion.app_id == app_id, BoardVersion.board_id == board_id)
            .order_by(*_NEWEST_FIRST))


def _versions(session: Session, app_id: str, board_id: str) -> list[BoardVersion]:
    """Newest first."""
    return list(session.scalars(_versions_query(app_id, board_id)))


def _newest_version(session: Session, app_id: str, board_id: str) -> BoardVersion | None:
    return session.scalar(_versions_query(app_id, board_id).limit(1))


def _version_row(session: Session, app_id: str, board_id: str, version: tuple[int, int, int]) -> BoardVersion:
    row = session.scalar(
        select(BoardVersion).where(
            BoardVersion.app_id == app_id,
            BoardVersion.board_id == board_id,
            BoardVersion.major == version[0],
            BoardVersion.minor == version[1],
            BoardVersion.patch == version[2],
        )
    )
    if row is None:
        raise _no_version(board_id, version)
    return row


def _no_version(board_id: str, version: tuple[int, int, int]) -> NotFound:
    return NotFound(f"board {board_id} has no version {label(version)}", code="version_not_found")


# A frozen version's identity, the newest or a given one; built once (every submit asks,
# and building a statement costs about as much CPU as running it).
_VERSION_OF_BOARD = select(BoardVersion.id, BoardVersion.major, BoardVersion.minor, BoardVersion.patch,
                           BoardVersion.created_at).where(BoardVersion.app_id == bindparam("app_id"),
                                                          BoardVersion.board_id == bindparam("board_id"))
_NEWEST_VERSION = _VERSION_OF_BOARD.order_by(*_NEWEST_FIRST).limit(1)
_GIVEN_VERSION = _VERSION_OF_BOARD.where(BoardVersion.major == bindparam("major"),
                                         BoardVersion.minor == bindparam("minor"),
                                         BoardVersion.patch == bindparam("patch"))


def resolve_board(session: Session, app_id: str, board_id: str, version: str) -> ResolvedBoard:
    """Which stored document a run of `board_id` at `version` uses.

    `version`: "latest" (the newest FROZEN version), "draft" (the working copy), or
    "M.m.p" / "M_m_p". Unknown board or version -> NotFound; malformed -> Unprocessable.

    A frozen version is found in one query: its row exists only while its board does (they
    are deleted together, and the foreign key cascades), so the board row is read only to
    tell which of the two is missing.
    """
    if version == "draft":
        _board_row(session, app_id, board_id)
        return ResolvedBoard(app_id, board_id, "draft", working_key(app_id, board_id))
    ids = {"app_id": app_id, "board_id": board_id}
    if version == "latest":
        row = session.execute(_NEWEST_VERSION, ids).first()
    else:
        wanted = parse_version(version)
        row = session.execute(_GIVEN_VERSION, {**ids, "major": wanted[0], "minor": wanted[1],
                                               "patch": wanted[2]}).first()
    if row is None:
        _board_row(session, app_id, board_id)
        if version == "latest":
            raise NotFound(
                f"board {board_id} has no frozen version yet; freeze one with "
                f"PATCH /api/v1/apps/{app_id}/board/{board_id}?version_type=Patch (or Minor/Major), "
                "or run the working copy with version \"draft\"",
                code="no_frozen_version",
            )
        raise _no_version(board_id, wanted)
    triple = (row.major, row.minor, row.patch)
    return ResolvedBoard(app_id, board_id, label(triple), version_key(app_id, board_id, triple),
                         revision=f"{row.id}@{row.created_at.isoformat()}")


# --- reading -------------------------------------------------------------------------


def list_boards(session: Session, app_id: str) -> list[dict[str, Any]]:
    boards = list(session.scalars(select(Board).where(Board.app_id == app_id).order_by(Board.id)))
    latest: dict[str, tuple[int, int, int]] = {}
    for board_id, *triple in session.execute(
        select(BoardVersion.board_id, BoardVersion.major, BoardVersion.minor, BoardVersion.patch).where(
            BoardVersion.app_id == app_id
        )
    ):
        t = tuple(triple)
        if board_id not in latest or t > latest[board_id]:
            latest[board_id] = t  # type: ignore[assignment]
    return [
        {
            "id": b.id,
            "name": b.name,
            "description": b.description,
            "revision": b.revision,
            "size_bytes": b.size_bytes,
            "updated_at": iso_time(b.updated_at),
            "latest_version": label(latest[b.id]) if b.id in latest else None,
        }
        for b in boards
    ]


@dataclass(frozen=True)
class BoardDocument:
    data: bytes
    etag: str  # quoted


def read_board(session: Session, app_id: str, board_id: str, version: str | None) -> BoardDocument:
    """The working copy (version None) or a frozen version, as stored bytes plus its ETag."""
    from boardrun.storage import StorageNotFound

    board = _board_row(session, app_id, board_id)
    if version is None:
        key, etag = working_key(app_id, board_id), f'"{board.revision}"'
    else:
        triple = parse_version(version)
        _version_row(session, app_id, board_id, triple)
        key, etag = version_key(app_id, board_id, triple), f'"v{label(triple)}"'
    try:
        return BoardDocument(_storage().get(key), etag)
    except StorageNotFound:
        raise NotFound(f"the document of board {board_id} is missing from storage", code="board_document_missing") from None


def list_versions(session: Session, app_id: str, board_id: str) -> list[dict[str, Any]]:
    _board_row(session, app_id, board_id)
    return [
        {
            "version": [v.major, v.minor, v.patch],
            "label": v.label,
            "created_at": iso_time(v.created_at),
            "size_bytes": v.size_bytes,
        }
        for v in _versions(session, app_id, board_id)
    ]


# --- writing -------------------------------------------------------------------------


def schema_problems(data: Any) -> list[dict[str, str]]:
    from boardrun.apps.board_schema import BOARD_SCHEMA
    from boardrun.web import schema_problems as problems_of

    return problems_of(data, BOARD_SCHEMA)


def check_board_document(board_id: str, data: Any) -> None:
    """422 naming every JSON path of the document that breaks our board schema."""
    problems = schema_problems(data)
    if not problems and data.get("id") != board_id:
        problems = [{"field": "id", "message": f"the board's id {data.get('id')!r} differs from {board_id!r} in the path"}]
    if problems:
        shown = problems[:MAX_PROBLEMS]
        more = f" (and {len(problems) - len(shown)} more)" if len(problems) > len(shown) else ""
        raise Unprocessable(
            "the board is not a valid Flow-Like board: "
            + "; ".join(f"{p['field'] or '(body)'}: {p['message']}" for p in shown[:5])
            + (" ..." if len(shown) > 5 else "")
            + more,
            code="invalid_board",
            details=shown,
        )


def engine_warnings(data: dict) -> list[dict[str, Any]]:
    """What the engine's validator says about the board (saving a work in progress is
    allowed; runs refuse invalid boards)."""
    try:
        from boardrun.engine.model import load_board
        from boardrun.engine.validate import validate_board
    except ImportError:  # the engine is not part of this deployment
        return []
    from boardrun.engine.errors import BoardFormatError

    try:
        board = load_board(data)
    except BoardFormatError as exc:
        return [{"node_id": None, "pin_id": None, "code": "board_format", "message": str(exc)}]
    return [p.to_dict() for p in validate_board(board)]


@dataclass(frozen=True)
class SavedBoard:
    id: str
    name: str
    revision: int
    size_bytes: int
    created: bool


def _etag_matches(header: str, revision: int) -> bool:
    tags = [t.strip() for t in header.split(",")]
    return "*" in tags or f'"{revision}"' in tags or f'W/"{revision}"' in tags


def save_board(
    session: Session, app_id: str, board_id: str, data: dict, *, if_match: str | None = None
) -> SavedBoard:
    """Store the working copy, then upsert its index row (revision + 1), in the caller's
    transaction. The row is locked first so concurrent saves serialise and If-Match is exact."""
    existing = session.scalar(
        select(Board).where(Board.app_id == app_id, Board.id == board_id).with_for_update()
    )
    if if_match is not None:
        if existing is None:
            raise PreconditionFailed(f"If-Match given but board {board_id} does not exist")
        if not _etag_matches(if_match, existing.revision):
            raise PreconditionFailed(
                f"board {board_id} is at revision {existing.revision}; If-Match was {if_match}"
            )
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    key = working_key(app_id, board_id)
    _storage().put(key, payload, "application/json")  # storage first: no index row points at nothing
    now = utcnow()
    name = data.get("name") or board_id
    description = data.get("description")
    if existing is None:
        board = Board(
            app_id=app_id, id=board_id, name=name, description=description, revision=1,
            size_bytes=len(payload), created_at=now, updated_at=now,
        )  # fmt: skip
        session.add(board)
        try:
            session.flush()
        except IntegrityError:
            raise Conflict(f"board {board_id} was created concurrently; retry", code="board_conflict") from None
        return SavedBoard(board_id, name, 1, len(payload), True)
    existing.name, existing.description = name, description
    existing.revision += 1
    existing.size_bytes = len(payload)
    existing.updated_at = now
    session.flush()
    return SavedBoard(board_id, name, existing.revision, len(payload), False)


def delete_board_rows(session: Session, app_id: str, board_id: str) -> None:
    board = _board_row(session, app_id, board_id, lock=True)
    session.query(BoardVersion).filter(
        BoardVersion.app_id == app_id, BoardVersion.board_id == board_id
    ).delete(synchronize_session=False)
    session.delete(board)
    session.flush()


def delete_board_storage(app_id: str, board_id: str) -> None:
    """After the rows are gone: remove the working copy and every frozen version."""
    storage = _storage()
    storage.delete_prefix(versions_prefix(app_id, board_id))
    storage.delete(working_key(app_id, board_id))


def next_version(current: tuple[int, int, int] | None, version_type: str) -> tuple[int, int, int]:
    major, minor, patch = current or (0, 0, 0)
    if version_type == "Major":
        return major + 1, 0, 0
    if version_type == "Minor":
        return major, minor + 1, 0
    return major, minor, patch + 1


def freeze_board(
    session: Session, app_id: str, board_id: str, version_type: str, *, created_by: str | None
) -> tuple[int, int, int]:
    """Freeze the working copy as the next version. The version row is claimed (flushed
    under the unique constraint, board row locked) BEFORE the document is copied, so two
    freezes can never write the same version object; the caller commits."""
    from boardrun.storage import StorageNotFound

    if version_type not in VERSION_TYPES:
        raise Unprocessable(
            f"version_type must be one of {', '.join(VERSION_TYPES)}",
            details=[{"field": "version_type", "message": f"expected one of {', '.join(VERSION_TYPES)}"}],
        )
    _board_row(session, app_id, board_id, lock=True)
    newest = _newest_version(session, app_id, board_id)
    current = (newest.major, newest.minor, newest.patch) if newest else None
    triple = next_version(current, version_type)
    try:
        document = _storage().get(working_key(app_id, board_id))
    except StorageNotFound:
        raise NotFound(f"the document of board {board_id} is missing from storage", code="board_document_missing") from None
    row = BoardVersion(
        app_id=app_id, board_id=board_id, major=triple[0], minor=triple[1], patch=triple[2],
        size_bytes=len(document), created_by=created_by, created_at=utcnow(),
    )  # fmt: skip
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(
            f"version {label(triple)} of board {board_id} was frozen concurrently; retry", code="version_conflict"
        ) from None
    _storage().put(version_key(app_id, board_id, triple), document, "application/json")
    return triple
