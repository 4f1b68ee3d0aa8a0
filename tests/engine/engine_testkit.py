"""Test helpers of the engine tests: run a board and read its result, failure or log lines.

The board builder lives in `boardrun.testing.boards` (the benchmarks build boards with it
too); it is imported here because the node tests take it from this module.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from boardrun.engine import RunResult
from boardrun.testing.boards import DEFINITIONS, UNSET, BoardBuilder, encode  # noqa: F401 - re-exported


def shared_dir() -> Path:
    """The team's shared reference folder (../shared next to the repository, or BOARDRUN_SHARED_DIR)."""
    configured = os.environ.get("BOARDRUN_SHARED_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / ".." / "shared"


def flowlike_file(name: str) -> Path:
    path = shared_dir() / "schemas" / "flowlike" / name
    if not path.is_file():
        pytest.skip(f"Flow-Like reference file {name} is not available (it lives in ../shared, outside this repository)")
    return path


def run_pure(node_name: str, output: str, **inputs: Any) -> RunResult:
    """Run one pure node with literal inputs and return the value of ``output`` as the run result."""
    b = BoardBuilder()
    start = b.add("events_simple")
    node = b.add(node_name, **inputs)
    ret = b.add("events_generic_return_result")
    b.connect(start, "exec_out", ret, "exec_in")
    b.connect(node, output, ret, "response")
    return b.run(start)


def logged(b: BoardBuilder, start: str, payload: Any = None, **kwargs: Any) -> tuple[RunResult, list[str]]:
    """Run the board and return the result with the messages of every log line, in order."""
    lines: list[str] = []

    def sink(event: Any) -> None:
        if event.kind == "log" and event.node_name != "events_simple":
            lines.append(event.message)

    return b.run(start, payload, on_event=sink, **kwargs), lines


def value_of(result: RunResult) -> Any:
    """The result of a run that must have completed."""
    assert result.status == "completed", result
    return result.result


def failure_of(result: RunResult, text: str) -> str:
    """The message of a run that must have failed with node_error mentioning ``text``."""
    assert (result.status, result.reason) == ("failed", "node_error"), result
    assert text in result.error["message"], result.error
    return result.error["message"]
