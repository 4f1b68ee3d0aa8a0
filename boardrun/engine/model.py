"""Board model and loader for Flow-Like board JSON.

The loader is lenient about content (unknown fields are ignored, semantic problems are left to
:mod:`validate`) and strict only about structure it cannot read at all. Like Flow-Like, it repairs
what older saves get wrong (see ``_repair`` and docs/engine.md, "Loading older boards").

A loaded board is immutable: pins, nodes and variables are named tuples and every map is a
read-only view. That is what lets validation and the runtime's prepared form be computed once
per ``Board`` object and reused by later runs (see ``runtime.run_board``); to change a board,
load a new one.
"""

from __future__ import annotations

import json
from operator import attrgetter
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping, NamedTuple

from .errors import BoardFormatError

MISSING: Any = object()  # "no value"; distinct from JSON null


class Pin(NamedTuple):
    id: str
    name: str
    friendly_name: str
    pin_type: str
    data_type: str
    value_type: str
    index: int
    connected_to: tuple[str, ...]
    depends_on: tuple[str, ...]
    default: Any = MISSING  # decoded default_value, or MISSING
    default_error: str | None = None  # why default_value could not be decoded
    node_id: str | None = None  # None for a layer's relay pin


class Node(NamedTuple):
    id: str
    name: str
    friendly_name: str
    pins: Mapping[str, Pin]  # read-only, in canonical order: inputs then outputs, each by (index, id)
    layer: str | None = None
    key: str = ""  # the key the node was stored under in the board's map
    description: str = ""
    fn_refs: tuple[str, ...] = ()  # ids of the function (event) nodes this node references

    def pins_named(self, name: str, pin_type: str | None = None) -> list[Pin]:
        found = [p for p in self.pins.values() if p.name == name and (pin_type is None or p.pin_type == pin_type)]
        return sorted(found, key=lambda p: (p.index, p.id))


class Variable(NamedTuple):
    id: str
    name: str
    data_type: str
    value_type: str
    default: Any = MISSING
    default_error: str | None = None
    exposed: bool = False
    secret: bool = False


@dataclass(frozen=True, eq=False)
class Board:
    """A loaded board; immutable (maps are read-only views), compared by identity."""

    id: str
    name: str
    nodes: Mapping[str, Node]
    pins: Mapping[str, Pin]  # every pin on the board: node pins and layer relay pins
    variables: Mapping[str, Variable]
    log_level: str = "Debug"
    duplicate_pin_ids: tuple[tuple[str, str], ...] = ()  # (pin id, node id)
    repairs: tuple[str, ...] = ()  # what the loader fixed, one sentence each
    # Derived once per board and reused: validation problems and the runtime's prepared form.
    _derived: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("nodes", "pins", "variables"):
            value = getattr(self, name)
            if not isinstance(value, MappingProxyType):
                object.__setattr__(self, name, MappingProxyType(dict(value)))
        object.__setattr__(self, "duplicate_pin_ids", tuple(self.duplicate_pin_ids))
        object.__setattr__(self, "repairs", tuple(self.repairs))


def decode_default(raw: Any) -> tuple[Any, str | None]:
    """Decode a default_value byte array into (value, error)."""
    if raw is None:
        return MISSING, None
    if not isinstance(raw, list) or not all(isinstance(b, int) and 0 <= b <= 255 for b in raw):
        return MISSING, "default_value is not an array of bytes"
    try:
        return json.loads(bytes(raw).decode("utf-8")), None
    except (UnicodeDecodeError, ValueError) as exc:
        return MISSING, f"default_value is not UTF-8 JSON text: {exc}"


def _str(obj: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = obj.get(key, default)
    if not isinstance(value, str):
        raise BoardFormatError(f"{where}: '{key}' must be a string")
    return value


def _map(obj: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BoardFormatError(f"{where}: '{key}' must be an object")
    return value


def _ids(obj: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = obj.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BoardFormatError(f"{where}: '{key}' must be an array of pin ids")
    return tuple(sorted(set(value)))  # a set in Flow-Like; sorted so "first" is well defined


def _load_pin(key: str, raw: Any, where: str, node_id: str | None) -> Pin:
    if not isinstance(raw, dict):
        raise BoardFormatError(f"{where}: pin {key!r} must be an object")
    where = f"{where}, pin {key!r}"
    pin_id = _str(raw, "id", where, key)
    index = raw.get("index", 0)
    if not isinstance(index, int) or isinstance(index, bool):
        raise BoardFormatError(f"{where}: 'index' must be an integer")
    default, default_error = decode_default(raw.get("default_value"))
    return Pin(
        id=pin_id,
        name=_str(raw, "name", where),
        friendly_name=_str(raw, "friendly_name", where, ""),
        pin_type=_str(raw, "pin_type", where),
        data_type=_str(raw, "data_type", where),
        value_type=_str(raw, "value_type", where, "Normal"),
        index=index,
        connected_to=_ids(raw, "connected_to", where),
        depends_on=_ids(raw, "depends_on", where),
        default=default,
        default_error=default_error,
        node_id=node_id,
    )


# Canonical pin order: inputs before outputs ("Input" < "Output"), then by index, then by id.
_PIN_ORDER = attrgetter("pin_type", "index", "id")


def _load_node(key: str, raw: Any, layer_id: str | None) -> Node:
    if not isinstance(raw, dict):
        raise BoardFormatError(f"node {key!r} must be an object")
    where = f"node {key!r}"
    node_id = _str(raw, "id", where, key)
    loaded = [_load_pin(pin_key, pin_raw, where, node_id) for pin_key, pin_raw in _map(raw, "pins", where).items()]
    loaded.sort(key=_PIN_ORDER)
    pins = {}
    for pin in loaded:
        pins.setdefault(pin.id, pin)  # a repeated id within one node: the first in canonical order wins
    layer = raw.get("layer", layer_id)
    refs = raw.get("fn_refs")
    refs = refs.get("fn_refs") if isinstance(refs, dict) else None
    return Node(id=node_id, name=_str(raw, "name", where), friendly_name=_str(raw, "friendly_name", where, ""),
                pins=MappingProxyType(pins), layer=layer if isinstance(layer, str) else None, key=key,
                description=raw["description"] if isinstance(raw.get("description"), str) else "",
                fn_refs=tuple(r for r in refs if isinstance(r, str)) if isinstance(refs, list) else ())


def _load_variable(key: str, raw: Any) -> Variable:
    if not isinstance(raw, dict):
        raise BoardFormatError(f"variable {key!r} must be an object")
    where = f"variable {key!r}"
    default, default_error = decode_default(raw.get("default_value"))
    return Variable(id=_str(raw, "id", where, key), name=_str(raw, "name", where, key),
                    data_type=_str(raw, "data_type", where, "Generic"), value_type=_str(raw, "value_type", where, "Normal"),
                    default=default, default_error=default_error,
                    exposed=bool(raw.get("exposed", False)), secret=bool(raw.get("secret", False)))


def _added_pins(node: Node, taken: set[str]) -> list[Pin]:
    """Pins of the node's definition that the saved node lacks (boards saved before they existed).

    A name the node has at least once counts as present (editors add repeatable pins freely). New
    ids are derived from the node id, so loading the same board twice gives the same ids, and are
    made unique against every id on the board.
    """
    from .registry import get as get_node_type  # the registry imports every node module: only when loading

    node_type = get_node_type(node.name)
    if node_type is None:
        return []  # unknown node types are reported by validation
    present = {(pin.name, pin.pin_type) for pin in node.pins.values()}
    added = []
    for pin_def in node_type.definition.pins:
        if (pin_def.name, pin_def.pin_type) in present:
            continue
        base = f"{node.id}.{pin_def.pin_type.lower()}.{pin_def.name}.{pin_def.index}"
        pin_id, n = base, 1
        while pin_id in taken:
            n += 1
            pin_id = f"{base}~{n}"
        taken.add(pin_id)
        default = MISSING if pin_def.default_value is None else pin_def.default_value
        added.append(Pin(id=pin_id, name=pin_def.name, friendly_name=pin_def.friendly_name, pin_type=pin_def.pin_type,
                         data_type=pin_def.data_type, value_type=pin_def.value_type, index=pin_def.index,
                         connected_to=(), depends_on=(), default=default, node_id=node.id))
    return added


def _mirrored(pin: Pin, pins: Mapping[str, Pin]) -> Pin:
    """``pin`` without connection entries the other end does not record (or that name no pin).

    This is what Flow-Like's load-time cleanup does: a connection exists only when both ends
    record it, so a one-sided or dangling entry is dropped rather than completed.
    """
    keep_to = tuple(t for t in pin.connected_to if (o := pins.get(t)) is not None and pin.id in o.depends_on)
    keep_from = tuple(s for s in pin.depends_on if (o := pins.get(s)) is not None and pin.id in o.connected_to)
    if keep_to == pin.connected_to and keep_from == pin.depends_on:
        return pin
    return pin._replace(connected_to=keep_to, depends_on=keep_from)


def _repair(nodes: dict[str, Node], relay_pins: list[Pin], pins: dict[str, Pin]
            ) -> tuple[dict[str, Node], list[Pin], list[str]]:
    """Bring a board saved by an older Flow-Like up to the current catalogue, as Flow-Like's loader does.

    1. Definition pins the node lacks are added with their catalogue defaults, unconnected.
    2. Connection entries recorded on one end only, or naming no pin, are dropped on that end.
    Pins the catalogue no longer has are kept untouched; validation and the runtime treat them as
    inert (never read, never written).
    """
    repairs: list[str] = []
    taken = set(pins)
    for node_id, node in list(nodes.items()):
        added = _added_pins(node, taken)
        if added:
            merged = sorted([*node.pins.values(), *added], key=_PIN_ORDER)
            nodes[node_id] = node._replace(pins=MappingProxyType({p.id: p for p in merged}))
            for pin in added:
                pins[pin.id] = pin
                repairs.append(f"node '{node_id}' ({node.name}): added missing {pin.pin_type.lower()} pin "
                               f"'{pin.name}' as '{pin.id}'")
    fixed: dict[str, Pin] = {}
    for pin in pins.values():
        repaired = _mirrored(pin, pins)
        if repaired is not pin:
            fixed[pin.id] = repaired
            for other in sorted(set(pin.connected_to) - set(repaired.connected_to)):
                repairs.append(f"pin '{pin.id}': dropped connected_to '{other}' (not recorded on the other end)")
            for other in sorted(set(pin.depends_on) - set(repaired.depends_on)):
                repairs.append(f"pin '{pin.id}': dropped depends_on '{other}' (not recorded on the other end)")
    if fixed:
        pins.update(fixed)
        for node_id, node in list(nodes.items()):
            if any(pin_id in fixed for pin_id in node.pins):
                nodes[node_id] = node._replace(pins=MappingProxyType(
                    {pin_id: fixed.get(pin_id, pin) for pin_id, pin in node.pins.items()}))
        relay_pins = [fixed.get(pin.id, pin) for pin in relay_pins]
    return nodes, relay_pins, repairs


def load_board(data: Any) -> Board:
    """Build a :class:`Board` from decoded board JSON.

    Raises :class:`BoardFormatError` when the structure cannot be read (wrong JSON types where
    ids, names or maps are expected). Everything else is checked by ``validate_board``.
    """
    if not isinstance(data, dict):
        raise BoardFormatError("a board must be a JSON object")
    nodes: dict[str, Node] = {}
    layer_nodes: list[tuple[str, Any, str]] = []
    relay_pins: list[Pin] = []
    for layer_key, layer in _map(data, "layers", "board").items():
        if not isinstance(layer, dict):
            raise BoardFormatError(f"layer {layer_key!r} must be an object")
        layer_id = _str(layer, "id", f"layer {layer_key!r}", layer_key)
        for pin_key, pin_raw in _map(layer, "pins", f"layer {layer_key!r}").items():
            relay_pins.append(_load_pin(pin_key, pin_raw, f"layer {layer_key!r}", None))
        layer_nodes.extend((k, v, layer_id) for k, v in _map(layer, "nodes", f"layer {layer_key!r}").items())
    for key, raw in _map(data, "nodes", "board").items():
        node = _load_node(key, raw, None)
        nodes[node.id] = node
    # Nodes kept only inside a layer's own map still belong to the board.
    for key, raw, layer_id in layer_nodes:
        node = _load_node(key, raw, layer_id)
        nodes.setdefault(node.id, node)

    pins: dict[str, Pin] = {}
    duplicates: list[tuple[str, str]] = []
    for node in nodes.values():
        for pin in node.pins.values():
            if pin.id in pins:
                duplicates.append((pin.id, node.id))
            pins[pin.id] = pin
    for pin in relay_pins:
        if pin.id in pins:
            duplicates.append((pin.id, ""))
        pins[pin.id] = pin

    nodes, relay_pins, repairs = _repair(nodes, relay_pins, pins)

    variables = {}
    for key, raw in _map(data, "variables", "board").items():
        variable = _load_variable(key, raw)
        variables[variable.id] = variable
    log_level = data.get("log_level", "Debug")
    return Board(id=str(data.get("id", "")), name=str(data.get("name", "")), nodes=MappingProxyType(nodes),
                 pins=MappingProxyType(pins), variables=MappingProxyType(variables),
                 log_level=log_level if isinstance(log_level, str) else "Debug", duplicate_pin_ids=tuple(duplicates),
                 repairs=tuple(repairs))
