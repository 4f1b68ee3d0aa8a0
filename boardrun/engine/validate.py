"""Board validation: every problem that would make a run meaningless, named by node and pin id."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from operator import attrgetter
from typing import Any

from .graph import is_pure, sources_of, targets_of
from .model import MISSING, Board, Node, Pin
from .registry import NodeDef
from .registry import get as get_node_type

PIN_TYPES = {"Input", "Output"}
DATA_TYPES = {"Execution", "String", "Integer", "Float", "Boolean", "Date", "PathBuf", "Generic", "Struct", "Byte"}
VALUE_TYPES = {"Array", "Normal", "HashMap", "HashSet"}
# Pins the editor adds to any node with Execution pins ("On Error"): name -> (pin_type, data_type).
ON_ERROR_PINS = {"auto_handle_error": ("Output", "Execution"), "auto_handle_error_string": ("Output", "String")}
# Source type -> target types it converts into, besides identity and Generic.
CONVERSIONS = {"Integer": {"Float"}}


@dataclass(frozen=True)
class Problem:
    node_id: str | None
    pin_id: str | None
    code: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compatible(source: Pin, target: Pin) -> bool:
    """Whether a value from output ``source`` may feed input ``target``."""
    a, b = source.data_type, target.data_type
    if a == "Generic" or b == "Generic":
        return True
    if a != b and b not in CONVERSIONS.get(a, ()):
        return False
    return a == "Execution" or source.value_type == target.value_type


def _check_node_pins(node: Node, problems: list[Problem]) -> None:
    node_type = get_node_type(node.name)
    if node_type is None:
        problems.append(Problem(node.id, None, "unknown_node", f"node '{node.id}' uses unknown node type '{node.name}'"))
        return
    definition = node_type.definition
    defs = {(p.name, p.pin_type): p for p in reversed(definition.pins)}  # first definition of a name wins
    expected = Counter((p.name, p.pin_type) for p in definition.pins)
    # A few Flow-Like nodes declare two inputs of one name with different types (path_list_with_offset):
    # a pin may have the typing of any definition of its name.
    typings: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for p in definition.pins:
        typings.setdefault((p.name, p.pin_type), set()).add((p.data_type, p.value_type))
    seen: Counter[tuple[str, str]] = Counter()
    # Retyped Generic pins (reroute) can make a node impure; pins the type does not declare do not count.
    has_exec = any(p.data_type == "Execution" for p in definition.pins) or any(
        p.data_type == "Execution" and (p.name, p.pin_type) in defs for p in node.pins.values())
    for pin in sorted(node.pins.values(), key=lambda p: (p.pin_type, p.index, p.id)):
        key = (pin.name, pin.pin_type)
        pin_def = defs.get(key)
        if pin_def is None:
            # Editor extras, On Error pins and pins an older catalogue had (inert) are all fine,
            # except an Execution pin on a pure node type: it would turn the node into a scheduled one.
            if pin.data_type == "Execution" and not has_exec:
                problems.append(Problem(node.id, pin.id, "extra_pin",
                                        f"Execution pin '{pin.name}' on node type '{node.name}', which has no "
                                        f"Execution pins"))
            continue
        seen[key] += 1
        if seen[key] > expected[key] and pin.name not in definition.repeatable:
            problems.append(Problem(node.id, pin.id, "extra_pin",
                                    f"{pin.pin_type.lower()} pin '{pin.name}' appears more often than node type "
                                    f"'{node.name}' allows ({expected[key]})"))
        if pin_def.data_type != "Generic" and (pin.data_type, pin.value_type) not in typings[key]:
            problems.append(Problem(node.id, pin.id, "pin_mismatch",
                                    f"pin '{pin.name}' is {pin.data_type}/{pin.value_type} but node type '{node.name}' "
                                    f"declares {pin_def.data_type}/{pin_def.value_type}"))
    for key in expected:
        if seen[key] == 0:
            problems.append(Problem(node.id, None, "missing_pin",
                                    f"node '{node.id}' ({node.name}) lacks its {key[1].lower()} pin '{key[0]}'"))


def is_inert(definition: NodeDef, pin: Pin) -> bool:
    """A pin the node type does not declare and the editor did not add: kept from an older catalogue.

    Such pins are never read or written by the node, so the runtime does not evaluate their sources.
    """
    if pin.pin_type == "Input" and definition.extra_inputs and pin.data_type != "Execution":
        return False
    if pin.pin_type == "Output" and (definition.extra_outputs or pin.name in ON_ERROR_PINS):
        return False
    return all(p.name != pin.name or p.pin_type != pin.pin_type for p in definition.pins)


def _check_pin_fields(pin: Pin, problems: list[Problem]) -> None:
    if pin.pin_type not in PIN_TYPES:
        problems.append(Problem(pin.node_id, pin.id, "bad_pin", f"pin '{pin.id}' has unknown pin_type '{pin.pin_type}'"))
    if pin.data_type not in DATA_TYPES:
        problems.append(Problem(pin.node_id, pin.id, "bad_pin", f"pin '{pin.id}' has unknown data_type '{pin.data_type}'"))
    if pin.value_type not in VALUE_TYPES:
        problems.append(Problem(pin.node_id, pin.id, "bad_pin",
                                f"pin '{pin.id}' has unknown value_type '{pin.value_type}'"))
    if pin.default_error:
        problems.append(Problem(pin.node_id, pin.id, "bad_default_value", f"pin '{pin.id}': {pin.default_error}"))


def _check_mirrors(board: Board, pin: Pin, problems: list[Problem]) -> None:
    for other_id in pin.connected_to:
        other = board.pins.get(other_id)
        if other is None:
            problems.append(Problem(pin.node_id, pin.id, "dangling_connection",
                                    f"pin '{pin.id}' is connected to '{other_id}', which is not a pin on this board"))
        elif pin.id not in other.depends_on:
            problems.append(Problem(pin.node_id, pin.id, "unmirrored_connection",
                                    f"pin '{pin.id}' lists '{other_id}' in connected_to, but '{other_id}' does not "
                                    f"list it in depends_on"))
    for other_id in pin.depends_on:
        other = board.pins.get(other_id)
        if other is None:
            problems.append(Problem(pin.node_id, pin.id, "dangling_connection",
                                    f"pin '{pin.id}' depends on '{other_id}', which is not a pin on this board"))
        elif pin.id not in other.connected_to:
            problems.append(Problem(pin.node_id, pin.id, "unmirrored_connection",
                                    f"pin '{pin.id}' lists '{other_id}' in depends_on, but '{other_id}' does not "
                                    f"list it in connected_to"))


def _check_wiring(board: Board, pin: Pin, problems: list[Problem]) -> None:
    """Direction, type compatibility and Execution fan-out of a node pin, relays resolved."""
    if pin.pin_type == "Output":
        if pin.depends_on:
            problems.append(Problem(pin.node_id, pin.id, "wrong_direction", f"output pin '{pin.id}' has depends_on entries"))
        targets = targets_of(board, pin)
        for target in targets:
            if target.pin_type != "Input":
                problems.append(Problem(pin.node_id, pin.id, "wrong_direction",
                                        f"output pin '{pin.id}' feeds '{target.id}', which is not an input"))
            elif not compatible(pin, target):
                problems.append(Problem(pin.node_id, pin.id, "incompatible_types",
                                        f"output '{pin.id}' ({pin.data_type}/{pin.value_type}) cannot feed input "
                                        f"'{target.id}' ({target.data_type}/{target.value_type})"))
        if pin.data_type == "Execution" and len(targets) > 1:
            problems.append(Problem(pin.node_id, pin.id, "exec_fanout",
                                    f"Execution output '{pin.id}' is wired to {len(targets)} inputs; it may fire only one"))
    elif pin.pin_type == "Input":
        if pin.connected_to:
            problems.append(Problem(pin.node_id, pin.id, "wrong_direction", f"input pin '{pin.id}' has connected_to entries"))
        for source in sources_of(board, pin):
            if source.pin_type != "Output":
                problems.append(Problem(pin.node_id, pin.id, "wrong_direction",
                                        f"input pin '{pin.id}' reads from '{source.id}', which is not an output"))


def _check_obsolete_sources(board: Board, inert_outputs: set[str], problems: list[Problem]) -> None:
    """An input that reads an obsolete (inert) output without a default could never get a value."""
    for pin in board.pins.values():
        if pin.pin_type != "Input" or pin.data_type == "Execution" or not pin.depends_on or pin.node_id is None:
            continue
        sources = sources_of(board, pin)
        source = sources[0] if sources else None
        if source is not None and source.id in inert_outputs and source.default is MISSING:
            node = board.nodes[pin.node_id]
            node_type = get_node_type(node.name)
            if node_type is not None and is_inert(node_type.definition, pin):
                continue  # the reader is obsolete too: never read
            owner = board.nodes[source.node_id]  # type: ignore[index]
            problems.append(Problem(pin.node_id, pin.id, "obsolete_source",
                                    f"input '{pin.name}' reads output '{source.name}' of node '{owner.id}', which node "
                                    f"type '{owner.name}' no longer has: it never gets a value and has no default"))


def _check_pure_cycles(board: Board, problems: list[Problem]) -> None:
    """Pure nodes feeding each other in a circle could never be evaluated."""
    pure = {nid for nid, node in board.nodes.items() if is_pure(node)}
    if not pure:
        return
    feeds: dict[str, list[str]] = {nid: [] for nid in pure}
    for nid in pure:
        node = board.nodes[nid]
        node_type = get_node_type(node.name)
        for pin in node.pins.values():
            if pin.pin_type == "Input" and not (node_type and is_inert(node_type.definition, pin)):
                sources = sources_of(board, pin)
                if sources and sources[0].node_id in pure:
                    feeds[sources[0].node_id].append(nid)
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    for root in sorted(pure):
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(feeds[root]))]
        while stack:
            nid, children = stack[-1]
            for child in children:
                if state.get(child) == 1:
                    problems.append(Problem(child, None, "pure_cycle",
                                            f"pure node '{child}' depends on its own output through '{nid}'"))
                elif child not in state:
                    state[child] = 1
                    stack.append((child, iter(feeds[child])))
                    break
            else:
                state[nid] = 2
                stack.pop()


def validate_board(board: Board) -> list[Problem]:
    """Every problem found on ``board``; an empty list means it can run.

    Computed once per Board object (boards are immutable) and returned as a fresh list.
    """
    derived = board._derived
    problems = derived.get("problems")
    if problems is None:
        problems = derived["problems"] = tuple(_validate(board))
    return list(problems)


_PIN_SIGNATURE = attrgetter("name", "pin_type", "data_type", "value_type")


def _validate(board: Board) -> list[Problem]:
    """One linear pass. Regular nodes and pins take inlined checks; anything irregular is handed
    to the detailed checks above, which produce the problems (in the same order as before)."""
    problems: list[Problem] = []
    for pin_id, node_id in board.duplicate_pin_ids:
        problems.append(Problem(node_id or None, pin_id, "duplicate_pin_id", f"pin id '{pin_id}' is used more than once"))
    # Whether a node's pins fit its type depends only on the type and the pins' names and types:
    # check each distinct layout once.
    clean_layouts: dict[tuple[Any, ...], bool] = {}
    inert_layouts: dict[tuple[Any, ...], tuple[int, ...]] = {}  # layout -> positions of inert output pins
    inert_outputs: set[str] = set()
    for node in board.nodes.values():
        if node.key != node.id:
            problems.append(Problem(node.id, None, "node_key_mismatch",
                                    f"node stored under key '{node.key}' has id '{node.id}'"))
        layout = (node.name, *map(_PIN_SIGNATURE, node.pins.values()))
        clean = clean_layouts.get(layout)
        if clean is None:
            found: list[Problem] = []
            _check_node_pins(node, found)
            clean_layouts[layout] = not found
            problems.extend(found)
        elif not clean:
            _check_node_pins(node, problems)
        inert = inert_layouts.get(layout)
        if inert is None:
            node_type = get_node_type(node.name)
            inert = inert_layouts[layout] = () if node_type is None else tuple(
                k for k, pin in enumerate(node.pins.values())
                if pin.pin_type == "Output" and is_inert(node_type.definition, pin))
        if inert:
            node_pins = tuple(node.pins)
            inert_outputs.update(node_pins[k] for k in inert)
    pins = board.pins
    get = pins.get
    for pin in pins.values():
        if (pin.pin_type not in PIN_TYPES or pin.data_type not in DATA_TYPES or pin.value_type not in VALUE_TYPES
                or pin.default_error):
            _check_pin_fields(pin, problems)
        pin_id = pin.id
        regular = pin.node_id is not None  # relay pins and anything odd take the detailed checks
        for other_id in pin.connected_to:
            other = get(other_id)
            if other is None or pin_id not in other.depends_on or other.node_id is None:
                regular = False
                break
        else:
            for other_id in pin.depends_on:
                other = get(other_id)
                if other is None or pin_id not in other.connected_to or other.node_id is None:
                    regular = False
                    break
        if regular:
            if pin.pin_type == "Output":
                if pin.depends_on or (pin.data_type == "Execution" and len(pin.connected_to) > 1):
                    regular = False
                else:
                    for other_id in pin.connected_to:
                        target = pins[other_id]
                        if target.pin_type != "Input" or not (
                                pin.data_type == target.data_type
                                and (pin.data_type == "Execution" or pin.value_type == target.value_type)
                                or compatible(pin, target)):
                            regular = False
                            break
            elif pin.pin_type == "Input":
                if pin.connected_to:
                    regular = False
                else:
                    for other_id in pin.depends_on:
                        if pins[other_id].pin_type != "Output":
                            regular = False
                            break
        if not regular:
            _check_mirrors(board, pin, problems)
            if pin.node_id is not None:
                _check_wiring(board, pin, problems)
    for variable in board.variables.values():
        if variable.default_error:
            problems.append(Problem(None, None, "bad_default_value", f"variable '{variable.id}': {variable.default_error}"))
    if inert_outputs:
        _check_obsolete_sources(board, inert_outputs, problems)
    _check_pure_cycles(board, problems)
    return problems


def default_start_node(board: Board) -> str | None:
    """The id of the board's only start node (an event node), or None if there are none or several."""
    starts = []
    for node in board.nodes.values():
        node_type = get_node_type(node.name)
        if node_type is not None and node_type.definition.start:
            starts.append(node.id)
    return starts[0] if len(starts) == 1 else None
