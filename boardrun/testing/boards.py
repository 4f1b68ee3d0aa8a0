"""Builds real Flow-Like board JSON from the registry's node definitions.

Connections are recorded on both ends and defaults are stored as UTF-8 JSON bytes, exactly as
the Flow-Like editor saves them, so whatever reads a built board reads the real format.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from boardrun.engine import RunResult, catalog, load_board, run_board

UNSET = object()  # a default left unset (None is a value)
DEFINITIONS = {node["name"]: node for node in catalog()}


def encode(value: Any) -> list[int]:
    return list(json.dumps(value).encode("utf-8"))


class BoardBuilder:
    """One board under construction: add nodes by name, wire their pins, set defaults and
    variables, then `build()` the board JSON (or `run()` it in this process)."""

    def __init__(self, log_level: str = "Debug") -> None:
        self.nodes: dict[str, dict[str, Any]] = {}
        self.variables: dict[str, dict[str, Any]] = {}
        self.layers: dict[str, dict[str, Any]] = {}
        self.log_level = log_level
        self._count = 0
        self._pin_owner: dict[str, dict[str, Any]] = {}  # pin id -> the pins map holding it

    def add(self, node_name: str, node_id: str | None = None, **defaults: Any) -> str:
        """Add a node of type ``node_name``; keyword arguments set input defaults by pin name."""
        self._count += 1
        node_id = node_id or f"n{self._count}"
        node = copy.deepcopy(DEFINITIONS[node_name])
        node["id"] = node_id
        node["pins"] = {}
        for pin in DEFINITIONS[node_name]["pins"].values():
            pin = copy.deepcopy(pin)
            pin["id"] = f"{node_id}:{pin['pin_type'][0].lower()}{pin['index']}:{pin['name']}"
            node["pins"][pin["id"]] = pin
            self._pin_owner[pin["id"]] = node["pins"]
        self.nodes[node_id] = node
        for name, value in defaults.items():
            self.set_default(node_id, name, value)
        return node_id

    def pins(self, node_id: str, name: str, pin_type: str | None = None) -> list[dict[str, Any]]:
        found = [p for p in self.nodes[node_id]["pins"].values()
                 if p["name"] == name and (pin_type is None or p["pin_type"] == pin_type)]
        if not found:
            raise KeyError(f"{node_id} has no pin {name}")
        return sorted(found, key=lambda p: p["index"])

    def pin_id(self, node_id: str, name: str, pin_type: str | None = None, nth: int = 0) -> str:
        return self.pins(node_id, name, pin_type)[nth]["id"]

    def set_default(self, node_id: str, name: str, value: Any, nth: int = 0) -> None:
        self.pins(node_id, name, "Input")[nth]["default_value"] = None if value is UNSET else encode(value)

    def add_pin(self, node_id: str, name: str, pin_type: str, data_type: str, value_type: str = "Normal",
                default: Any = UNSET) -> str:
        pins = self.nodes[node_id]["pins"]
        index = 1 + sum(1 for p in pins.values() if p["pin_type"] == pin_type)
        pin_id = f"{node_id}:{pin_type[0].lower()}{index}:{name}"
        pins[pin_id] = {"id": pin_id, "name": name, "friendly_name": name, "description": "", "pin_type": pin_type,
                        "data_type": data_type, "schema": None, "value_type": value_type, "depends_on": [],
                        "connected_to": [], "default_value": None if default is UNSET else encode(default),
                        "index": index, "options": None}
        self._pin_owner[pin_id] = pins
        return pin_id

    def on_error(self, node_id: str) -> None:
        """Add the editor's On Error pins to a node."""
        self.add_pin(node_id, "auto_handle_error", "Output", "Execution")
        self.add_pin(node_id, "auto_handle_error_string", "Output", "String", default="")

    def _pin(self, pin_id: str) -> dict[str, Any]:
        return self._pin_owner[pin_id][pin_id]

    def link(self, out_pin: str, in_pin: str) -> None:
        """Wire two pins by id, on both ends."""
        source, target = self._pin(out_pin), self._pin(in_pin)
        source["connected_to"] = sorted({*source["connected_to"], in_pin})
        target["depends_on"] = sorted({*target["depends_on"], out_pin})

    def connect(self, src: str, src_pin: str, dst: str, dst_pin: str, src_nth: int = 0, dst_nth: int = 0) -> None:
        self.link(self.pin_id(src, src_pin, "Output", src_nth), self.pin_id(dst, dst_pin, "Input", dst_nth))

    def chain(self, *node_ids: str, out_pin: str = "exec_out") -> None:
        """Connect exec_out -> exec_in along ``node_ids``."""
        for a, b in zip(node_ids, node_ids[1:]):
            self.connect(a, out_pin, b, "exec_in")

    def reference_function(self, node_id: str, function_id: str) -> None:
        """Make ``node_id`` call back ``function_id`` (Flow-Like's fn_refs), as event-style nodes do."""
        self.nodes[node_id]["fn_refs"] = {"fn_refs": [function_id], "can_reference_fns": True,
                                          "can_be_referenced_by_fns": False}

    def relay(self, layer_id: str, pin_type: str, data_type: str) -> str:
        layer = self.layers.setdefault(layer_id, {
            "id": layer_id, "name": layer_id, "type": "Collapsed", "nodes": {}, "variables": {}, "comments": {},
            "coordinates": [0.0, 0.0, 0.0], "pins": {}})
        pin_id = f"{layer_id}:relay{len(layer['pins']) + 1}"
        layer["pins"][pin_id] = {"id": pin_id, "name": pin_id, "friendly_name": "", "description": "",
                                 "pin_type": pin_type, "data_type": data_type, "value_type": "Normal",
                                 "depends_on": [], "connected_to": [], "default_value": None, "index": 1}
        self._pin_owner[pin_id] = layer["pins"]
        return pin_id

    def variable(self, name: str, default: Any = UNSET, data_type: str = "Generic", var_id: str | None = None) -> str:
        var_id = var_id or f"var-{name}"
        self.variables[var_id] = {"id": var_id, "name": name, "category": None, "description": None,
                                  "default_value": None if default is UNSET else encode(default),
                                  "data_type": data_type, "value_type": "Normal", "exposed": True, "secret": False,
                                  "editable": True}
        return var_id

    def build(self) -> dict[str, Any]:
        now = {"secs_since_epoch": 1767225600, "nanos_since_epoch": 0}
        return {"id": "board-1", "name": "test board", "description": "", "nodes": copy.deepcopy(self.nodes),
                "variables": copy.deepcopy(self.variables), "comments": {}, "viewport": [0.0, 0.0, 1.0],
                "version": [0, 0, 1], "stage": "Dev", "log_level": self.log_level, "refs": {},
                "layers": copy.deepcopy(self.layers), "created_at": now, "updated_at": now}

    def run(self, start: str, payload: Any = None, **kwargs: Any) -> RunResult:
        return run_board(load_board(self.build()), start, payload, **kwargs)


def echo_board(board_id: str = "echo") -> dict[str, Any]:
    """events_generic "start" → events_generic_return_result "ret" of its payload: the run's
    result is the payload it was given."""
    b = BoardBuilder()
    start = b.add("events_generic", "start")
    ret = b.add("events_generic_return_result", "ret")
    b.connect(start, "exec_out", ret, "exec_in")
    b.connect(start, "payload", ret, "response")
    return {**b.build(), "id": board_id, "name": "Echo", "description": "returns its payload"}


def hello_board(board_id: str = "hello", message: str = "hello from boardrun", name: str = "Hello",
                log_level: str = "Debug") -> dict[str, Any]:
    """events_simple "n_start" → log_info "n_log" of `message`: the smallest board that does something."""
    b = BoardBuilder(log_level=log_level)
    start = b.add("events_simple", "n_start")
    log = b.add("log_info", "n_log", message=message)
    b.connect(start, "exec_out", log, "exec_in")
    return {**b.build(), "id": board_id, "name": name, "description": "logs one line"}


__all__ = ["DEFINITIONS", "UNSET", "BoardBuilder", "echo_board", "encode", "hello_board"]
