"""A board as a submission needs it: read, loaded and validated by the engine once per
frozen version (versions are immutable; the cache is keyed by the version's revision,
so a board deleted and frozen again is read afresh), again for every run of the
working copy."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from boardrun.apps.boards import ResolvedBoard
from boardrun.errors import Unprocessable

CACHED_VERSIONS = 256


@dataclass(frozen=True)
class PreparedBoard:
    doc: dict | None  # the document, kept for the working copy only (a job runs a snapshot of it)
    default_start: str | None  # the single start node, if the board has one
    node_ids: frozenset[str]


_cache: OrderedDict[tuple[str, str], PreparedBoard] = OrderedDict()
_lock = threading.Lock()


def _prepare(doc: dict, keep_doc: bool) -> PreparedBoard:
    from boardrun.engine import BoardFormatError, default_start_node, load_board, validate_board

    try:
        board = load_board(doc)
    except BoardFormatError as exc:
        raise Unprocessable(f"the board cannot be read: {exc}", code="invalid_board") from None
    problems = validate_board(board)
    if problems:
        raise Unprocessable(
            f"the board has {len(problems)} problem(s); fix them before running it",
            code="invalid_board",
            details=[p.to_dict() for p in problems],
        )
    return PreparedBoard(doc if keep_doc else None, default_start_node(board), frozenset(board.nodes))


def prepared_board(resolved: ResolvedBoard) -> PreparedBoard:
    """The board a run of `resolved` uses, validated (Unprocessable if it is not valid)."""
    if resolved.revision is None:  # the working copy changes: read and check it every time
        return _prepare(resolved.load(), keep_doc=True)
    key = (resolved.storage_key, resolved.revision)
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    prepared = _prepare(resolved.load(), keep_doc=False)  # an invalid version is not cached: it raises
    with _lock:
        _cache[key] = prepared
        while len(_cache) > CACHED_VERSIONS:
            _cache.popitem(last=False)
    return prepared


def start_node(board: PreparedBoard, node_id: str | None) -> str:
    """The node the run starts at: the one asked for, or the board's single start node."""
    if node_id is None:
        if board.default_start is None:
            raise Unprocessable(
                "the board has no single start node; name one with node_id",
                details=[{"field": "node_id", "message": "required for this board"}],
            )
        return board.default_start
    if node_id not in board.node_ids:
        raise Unprocessable(f"the board has no node {node_id}", details=[{"field": "node_id", "message": "no such node"}])
    return node_id
