"""Benchmark: engine cost per executed node step, against a plain Python function call.

(a) a chain of 10,000 impure nodes in one execution line (log_info, gated out by the board's
    log level, so the figure is scheduling cost rather than logging cost);
(b) a for-each over 10,000 elements; each iteration runs a variable_set fed by two pure nodes
    (variable_get -> int_add), so it sums the array.

Each figure is the best of a few repetitions of a whole ``run_board`` call (validation and
compilation included) divided by the steps the run reports. Prints ``figure:`` and ``ratio:``
lines at the end. Run: ``.venv/bin/python bench/engine.py``.
"""

from __future__ import annotations

import json
import time
import timeit
from typing import Any

from boardrun.engine import CancelToken, EgressPolicy, RunLimits, catalog, load_board, run_board
from boardrun.engine.runtime import _Run  # private: used only to time execution apart from preparation

DEFINITIONS = {node["name"]: node for node in catalog()}
REPEATS = 3
SIZE = 10_000


class _Board:
    def __init__(self) -> None:
        self.nodes: dict[str, Any] = {}
        self.count = 0

    def add(self, name: str, **defaults: Any) -> str:
        self.count += 1
        node_id = f"n{self.count}"
        node = json.loads(json.dumps(DEFINITIONS[name]))
        node["id"] = node_id
        node["pins"] = {}
        for pin in DEFINITIONS[name]["pins"].values():
            pin = dict(pin, id=f"{node_id}.{pin['pin_type']}.{pin['index']}", connected_to=[], depends_on=[])
            if pin["name"] in defaults and pin["pin_type"] == "Input":
                pin["default_value"] = list(json.dumps(defaults[pin["name"]]).encode())
            node["pins"][pin["id"]] = pin
        self.nodes[node_id] = node
        return node_id

    def pin(self, node_id: str, name: str, pin_type: str) -> dict[str, Any]:
        return next(p for p in self.nodes[node_id]["pins"].values() if p["name"] == name and p["pin_type"] == pin_type)

    def connect(self, a: str, a_pin: str, b: str, b_pin: str) -> None:
        source, target = self.pin(a, a_pin, "Output"), self.pin(b, b_pin, "Input")
        source["connected_to"].append(target["id"])
        target["depends_on"].append(source["id"])

    def json(self, log_level: str = "Debug") -> dict[str, Any]:
        return {"id": "bench", "name": "bench", "nodes": self.nodes, "variables": {}, "layers": {}, "refs": {},
                "log_level": log_level}


def chain_board() -> tuple[dict[str, Any], str]:
    b = _Board()
    start = previous = b.add("events_simple")
    for _ in range(SIZE):
        node = b.add("log_info", message="tick")
        b.connect(previous, "exec_out", node, "exec_in")
        previous = node
    return b.json(log_level="Fatal"), start


def for_each_board() -> tuple[dict[str, Any], str]:
    b = _Board()
    start = b.add("events_generic")
    loop = b.add("control_for_each")
    body = b.add("variable_set", var_ref="total")
    add = b.add("int_add")
    read = b.add("variable_get", var_ref="total")
    b.connect(start, "exec_out", loop, "exec_in")
    b.connect(start, "payload", loop, "array")
    b.connect(loop, "exec_out", body, "exec_in")
    b.connect(read, "value_ref", add, "integer1")
    b.connect(loop, "value", add, "integer2")
    b.connect(add, "sum", body, "value_in")
    data = b.json()
    data["variables"] = {"total": {"id": "total", "name": "total", "data_type": "Integer", "value_type": "Normal",
                                   "default_value": list(b"0"), "exposed": False, "secret": False, "editable": True}}
    return data, start


def per_step(board_json: dict[str, Any], start: str, payload: Any = None) -> tuple[float, float, int]:
    """(whole run_board per step, execution alone per step, steps), best of REPEATS."""
    board = load_board(board_json)
    best_total = best_exec = float("inf")
    steps = 0
    for _ in range(REPEATS):
        began = time.perf_counter()
        result = run_board(board, start, payload)
        elapsed = time.perf_counter() - began
        assert result.status == "completed", result
        steps = result.steps
        best_total = min(best_total, elapsed / steps)
        prepared = _Run(board, start, payload, {v: 0 for v in board.variables}, RunLimits(), CancelToken(), None,
                        EgressPolicy(), time.monotonic())
        began = time.perf_counter()
        assert prepared.execute().status == "completed"
        best_exec = min(best_exec, (time.perf_counter() - began) / steps)
    return best_total, best_exec, steps


def plain_call() -> float:
    def function(x: int) -> int:
        return x

    number = 1_000_000
    best = min(timeit.repeat("function(1)", globals={"function": function}, number=number, repeat=5))
    return best / number


def main() -> None:
    call = plain_call()
    chain_total, chain_exec, chain_steps = per_step(*chain_board())
    loop_board, loop_start = for_each_board()
    loop_total, loop_exec, loop_steps = per_step(loop_board, loop_start, [1] * SIZE)
    print(f"chain run: {chain_steps} steps; for-each run: {loop_steps} steps")
    print("'step' = executing one node; 'run' = whole run_board (validation and preparation included) / steps")
    print(f"figure: plain_function_call = {call * 1e9:.1f} ns")
    print(f"figure: chain_step = {chain_exec * 1e9:.0f} ns")
    print(f"figure: chain_run_per_step = {chain_total * 1e9:.0f} ns")
    print(f"figure: for_each_step = {loop_exec * 1e9:.0f} ns")
    print(f"figure: for_each_run_per_step = {loop_total * 1e9:.0f} ns")
    print(f"ratio: chain_step_vs_call = {chain_exec / call:.1f}")
    print(f"ratio: chain_run_per_step_vs_call = {chain_total / call:.1f}")
    print(f"ratio: for_each_step_vs_call = {loop_exec / call:.1f}")
    print(f"ratio: for_each_run_per_step_vs_call = {loop_total / call:.1f}")


if __name__ == "__main__":
    main()
