"""Utils: the cuid node generates CUID2 identifiers."""

from __future__ import annotations

import re

from boardrun.engine import load_board, run_board
from engine_testkit import BoardBuilder


def test_cuid_generates_distinct_cuid2_ids():
    """Each run yields a 24-character CUID2 (lower-case letter, then [a-z0-9]); 500 draws are all distinct."""
    b = BoardBuilder()
    start = b.add("events_simple")
    node = b.add("cuid")
    ret = b.add("events_generic_return_result")
    b.chain(start, node, ret)
    b.connect(node, "cuid", ret, "response")
    board = load_board(b.build())
    ids = [run_board(board, start, None).result for _ in range(500)]
    assert all(re.fullmatch(r"[a-z][a-z0-9]{23}", i) for i in ids)
    assert len(set(ids)) == 500


def test_cuid_continues_into_exec_out():
    """The node fires exec_out, so the chain after it runs."""
    b = BoardBuilder()
    start = b.add("events_simple")
    ret = b.add("events_generic_return_result", response="after")
    b.chain(start, b.add("cuid"), ret)
    assert b.run(start).result == "after"
