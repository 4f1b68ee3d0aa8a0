"""Benchmark: engine cost per executed node step, against a plain Python function call.

(a) a chain of 10,000 impure nodes in one execution line (log_info, gated out by the board's
    log level, so the figure is scheduling cost rather than logging cost);
(b) a for-each over 10,000 elements; each iteration runs a variable_set fed by two pure nodes
    (variable_get -> int_add), so it sums the array.

Every figure is measured through the public API and is the best of a few repetitions, divided by
the steps the run reports:

- ``*_step``: a whole ``run_board`` call on a board that has run before. A loaded ``Board`` is
  immutable, so its validation and prepared form are computed on its first run and reused; this
  is what repeated runs of one board cost.
- ``*_cold_run_per_step``: the first ``run_board`` call on a freshly loaded board, so validation
  and preparation are included. This is what a one-shot executor (one board, one run, one
  process) pays on top of loading.
- ``*_load_per_step``: ``load_board`` on the board JSON (not part of ``run_board``), for scale.

Garbage collection stays enabled throughout. Prints ``figure:`` and ``ratio:`` lines at the end.
Run: ``.venv/bin/python bench/engine.py``.
"""

from __future__ import annotations

import time
import timeit
from typing import Any

from boardrun.engine import load_board, run_board
from boardrun.testing.boards import BoardBuilder

REPEATS = 5
SIZE = 10_000


def chain_board() -> tuple[dict[str, Any], str]:
    b = BoardBuilder(log_level="Fatal")
    start = previous = b.add("events_simple")
    for _ in range(SIZE):
        node = b.add("log_info", message="tick")
        b.connect(previous, "exec_out", node, "exec_in")
        previous = node
    return b.build(), start


def for_each_board() -> tuple[dict[str, Any], str]:
    b = BoardBuilder()
    total = b.variable("total", 0, "Integer", var_id="total")
    start = b.add("events_generic")
    loop = b.add("control_for_each")
    body = b.add("variable_set", var_ref=total)
    add = b.add("int_add")
    read = b.add("variable_get", var_ref=total)
    b.connect(start, "exec_out", loop, "exec_in")
    b.connect(start, "payload", loop, "array")
    b.connect(loop, "exec_out", body, "exec_in")
    b.connect(read, "value_ref", add, "integer1")
    b.connect(loop, "value", add, "integer2")
    b.connect(add, "sum", body, "value_in")
    return b.build(), start


def per_step(board_json: dict[str, Any], start: str, payload: Any = None) -> dict[str, float | int]:
    """Per-step costs (seconds) of warm runs, cold first runs and loading; best of REPEATS each."""
    best = {"step": float("inf"), "cold": float("inf"), "load": float("inf")}
    steps = 0
    for _ in range(REPEATS):
        began = time.perf_counter()
        board = load_board(board_json)
        load = time.perf_counter() - began
        began = time.perf_counter()
        result = run_board(board, start, payload)  # first run of this Board object: validates and prepares
        cold = time.perf_counter() - began
        assert result.status == "completed", result
        steps = result.steps
        began = time.perf_counter()
        result = run_board(board, start, payload)  # a later run of the same Board object
        warm = time.perf_counter() - began
        assert result.status == "completed" and result.steps == steps, result
        for name, seconds in (("step", warm), ("cold", cold), ("load", load)):
            best[name] = min(best[name], seconds / steps)
    return {**best, "steps": steps}


def plain_call() -> float:
    def function(x: int) -> int:
        return x

    number = 1_000_000
    best = min(timeit.repeat("function(1)", globals={"function": function}, number=number, repeat=5))
    return best / number


def main() -> None:
    call = plain_call()
    chain = per_step(*chain_board())
    loop_board, loop_start = for_each_board()
    loop = per_step(loop_board, loop_start, [1] * SIZE)
    print(f"chain run: {chain['steps']} steps; for-each run: {loop['steps']} steps")
    print("'step' = run_board on a board that ran before, per step; 'cold_run' = first run_board of a freshly "
          "loaded board (validation and preparation included), per step; 'load' = load_board, per step")
    figures = {"plain_function_call": call}
    for label, measured in (("chain", chain), ("for_each", loop)):
        figures[f"{label}_step"] = measured["step"]
        figures[f"{label}_cold_run_per_step"] = measured["cold"]
        figures[f"{label}_load_per_step"] = measured["load"]
    for name, seconds in figures.items():
        print(f"figure: {name} = {seconds * 1e9:.1f} ns")
    for name, seconds in figures.items():
        if name != "plain_function_call":
            print(f"ratio: {name}_vs_call = {seconds / call:.1f}")


if __name__ == "__main__":
    main()
