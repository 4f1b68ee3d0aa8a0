"""Node definitions and the catalogue of implemented nodes.

Each node module registers its nodes with :func:`register`. A definition carries everything
the catalogue export and the validator need (names, pins, types, defaults, options, order);
the implementation is a plain function that receives a :class:`~boardrun.engine.runtime.NodeContext`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator

if TYPE_CHECKING:
    from .runtime import NodeContext

NO_DEFAULT: Any = None  # catalogue semantics: a null default means "no default value"


@dataclass(frozen=True)
class PinDef:
    name: str
    friendly_name: str
    pin_type: str  # "Input" | "Output"
    data_type: str
    value_type: str = "Normal"
    default_value: Any = NO_DEFAULT
    options: dict[str, Any] | None = None
    description: str = ""
    schema: str | None = None
    index: int = 0  # 1-based among pins of the same direction; filled in by NodeDef


@dataclass(frozen=True)
class NodeDef:
    name: str
    friendly_name: str
    category: str
    description: str
    pins: tuple[PinDef, ...]
    start: bool = False
    long_running: bool = False
    event_callback: bool = False
    can_be_referenced_by_fns: bool = False
    # Editor-managed extras: names that may repeat, and whether the editor adds free-form pins.
    repeatable: frozenset[str] = field(default_factory=frozenset)
    extra_inputs: bool = False
    extra_outputs: bool = False


RunFn = Callable[["NodeContext"], Any]


@dataclass(frozen=True)
class NodeType:
    definition: NodeDef
    run: RunFn


_REGISTRY: dict[str, NodeType] = {}


def inp(name: str, friendly: str, data_type: str, value_type: str = "Normal", default: Any = NO_DEFAULT,
        options: dict[str, Any] | None = None, description: str = "", schema: str | None = None) -> PinDef:
    return PinDef(name, friendly, "Input", data_type, value_type, default, options, description, schema)


def out(name: str, friendly: str, data_type: str, value_type: str = "Normal",
        options: dict[str, Any] | None = None, description: str = "", schema: str | None = None,
        default: Any = NO_DEFAULT) -> PinDef:
    """An output pin; ``default`` is what a connected input reads before the node has set it."""
    return PinDef(name, friendly, "Output", data_type, value_type, default, options, description, schema)


def register(name: str, friendly_name: str, category: str, description: str, pins: list[PinDef],
             **flags: Any) -> Callable[[RunFn], RunFn]:
    """Decorator registering ``fn`` as the implementation of node ``name``."""
    counters = {"Input": 0, "Output": 0}
    numbered = []
    for pin in pins:
        counters[pin.pin_type] += 1
        numbered.append(PinDef(**{**pin.__dict__, "index": counters[pin.pin_type]}))
    if "repeatable" in flags:
        flags["repeatable"] = frozenset(flags["repeatable"])
    definition = NodeDef(name, friendly_name, category, description, tuple(numbered), **flags)

    def decorate(fn: RunFn) -> RunFn:
        if name in _REGISTRY:
            raise RuntimeError(f"node {name!r} registered twice")
        _REGISTRY[name] = NodeType(definition, fn)
        return fn

    return decorate


_loaded = False


def _ensure_loaded() -> None:
    global _loaded
    if not _loaded:
        from . import nodes  # noqa: F401  (importing registers every node module)

        _loaded = True


def get(name: str) -> NodeType | None:
    _ensure_loaded()
    return _REGISTRY.get(name)


def node_types() -> Iterator[NodeType]:
    _ensure_loaded()
    return iter(sorted(_REGISTRY.values(), key=lambda t: t.definition.name))


def encode_default(value: Any) -> list[int] | None:
    """Flow-Like stores defaults as the UTF-8 bytes of their JSON text."""
    if value is None:
        return None
    return list(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def pin_id(node_name: str, pin: PinDef) -> str:
    return f"{node_name}.{pin.pin_type.lower()}.{pin.index}"


def export_pin(node_name: str, pin: PinDef) -> dict[str, Any]:
    return {
        "id": pin_id(node_name, pin),
        "name": pin.name,
        "friendly_name": pin.friendly_name,
        "description": pin.description,
        "pin_type": pin.pin_type,
        "data_type": pin.data_type,
        "schema": pin.schema,
        "value_type": pin.value_type,
        "depends_on": [],
        "connected_to": [],
        "default_value": encode_default(pin.default_value),
        "index": pin.index,
        "options": dict(pin.options) if pin.options else None,
    }


def export_node(definition: NodeDef) -> dict[str, Any]:
    """One definition in Flow-Like's node JSON shape (pins keyed by id, defaults as bytes)."""
    exported: dict[str, Any] = {
        "id": definition.name,
        "name": definition.name,
        "friendly_name": definition.friendly_name,
        "description": definition.description,
        "coordinates": [0.0, 0.0, 0.0],
        "category": definition.category,
        "scores": None,
        "pins": {pin_id(definition.name, p): export_pin(definition.name, p) for p in definition.pins},
        "start": definition.start,
        "icon": None,
        "long_running": True if definition.long_running else None,
        "event_callback": True if definition.event_callback else None,
    }
    if definition.can_be_referenced_by_fns:
        exported["can_be_referenced_by_fns"] = True
    return exported


def catalog() -> list[dict[str, Any]]:
    """Every implemented node in Flow-Like's node JSON shape, sorted by node name."""
    return [export_node(t.definition) for t in node_types()]
