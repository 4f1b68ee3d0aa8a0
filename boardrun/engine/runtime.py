"""The run-time scheduler.

Semantics follow Flow-Like's engine (see docs/engine.md): Execution pins are boolean flags, a node
that succeeds continues into every active Execution output, pure nodes are evaluated on demand
right before each node that reads them, and loop/sequence/parallel nodes run their bodies
themselves before the scheduler moves on.

Deliberate difference: a node failure that no On Error chain handles makes the run ``failed``
(``reason="node_error"``). Flow-Like keeps reporting such runs as successful. Everything else about
the failure is as in Flow-Like: the failing branch ends, other branches and loop iterations go on.

The scheduler never recurses per node: it keeps an explicit stack of frames. A chain frame works
through waves of nodes; a body frame holds the suspended generator of a control node (for-each,
while, sequence, parallel) that asked for a body to be run.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Callable, Iterator

from . import events as ev
from .errors import NodeError
from .events import EngineEvent, EventSink
from .graph import sources_of, targets_of
from .files import FileServices
from .http_egress import EgressPolicy
from .limits import CancelToken, RunLimits
from .model import MISSING, Board, Node, Pin
from .registry import NodeType
from .registry import get as get_node_type
from .resources import RunResources
from .validate import Problem, is_inert, validate_board

ON_ERROR_FLAG = "auto_handle_error"
ON_ERROR_TEXT = "auto_handle_error_string"


@dataclass(frozen=True)
class RunResult:
    status: str  # "completed" | "failed" | "cancelled"
    reason: str | None  # None | node_error | step_limit | deadline | invalid_board | unknown_start_node | cancelled
    result: Any
    error: dict[str, Any] | None
    steps: int
    duration_ms: float

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reason": self.reason, "result": self.result, "error": self.error,
                "steps": self.steps, "duration_ms": self.duration_ms}


class _Stop(Exception):
    """Ends the whole run: a limit was hit or the run was cancelled."""

    def __init__(self, status: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class _Expired(_Stop):
    """A body run under a time budget (``Timed``) ran out of time: unwinds to the node that set it."""

    def __init__(self, frame: "_Body") -> None:
        super().__init__("failed", "timeout", "the time budget of a body ran out")
        self.frame = frame


class Timed:
    """What a generator node yields to run ``nodes`` as a body within ``seconds``.

    The generator is resumed with ``True`` when the budget ran out (the body was abandoned where
    it was) and with ``None`` when the body finished in time.
    """

    __slots__ = ("nodes", "seconds")

    def __init__(self, nodes: list[Any], seconds: float) -> None:
        self.nodes = nodes
        self.seconds = seconds


class _PureFailure(NodeError):
    """A pure dependency failed while a node was being prepared; remembers which one."""

    def __init__(self, node: "_PNode", message: str) -> None:
        super().__init__(message)
        self.node = node


class _Shape:
    """Name tables of one node layout (node type plus its pins in canonical order), shared by every
    node of a board laid out the same way. Pins are numbered 0.. in the node's canonical pin order."""

    __slots__ = ("in_first", "ins", "outs", "names", "output_pins", "gen", "inert")

    def __init__(self, pins: tuple[Pin, ...], node_type: NodeType) -> None:
        fn = node_type.run
        ins: dict[str, tuple[int, ...]] = {}
        outs: dict[str, tuple[int, ...]] = {}
        for k, pin in enumerate(pins):
            if pin.pin_type == "Input":
                ins[pin.name] = ins.get(pin.name, ()) + (k,)
            else:
                outs[pin.name] = outs.get(pin.name, ()) + (k,)
        self.ins = ins
        self.in_first = {name: ks[0] for name, ks in ins.items()}
        self.outs = outs
        self.names = tuple(pin.name for pin in pins)
        self.output_pins = [(pin.name, pin.data_type) for pin in pins if pin.pin_type != "Input"]
        # Generator nodes (loops, sequences) keep their context across the bodies they run.
        self.gen = inspect.isgeneratorfunction(fn)
        # Pins kept from an older catalogue: the node never reads them, so their sources are not evaluated.
        self.inert = tuple(is_inert(node_type.definition, pin) for pin in pins)


class _PNode:
    """A board node bound to its implementation, with every pin lookup precomputed.

    Part of a board's prepared form: shared by all runs of the board, never changed by a run. A
    run's pin values live in a list; this node's pins occupy slots ``base`` .. ``base + len - 1``.
    """

    __slots__ = ("id", "name", "fn", "pure", "gen", "base", "srcs", "in_first", "ins", "outs", "shape", "pure_deps",
                 "exec_outs", "error_flag", "error_text", "error_targets", "exec_srcs")

    def __init__(self, node: Node, fn: Callable[["NodeContext"], Any], shape: _Shape, base: int, pure: bool) -> None:
        self.id = node.id
        self.name = node.name
        self.fn = fn
        self.pure = pure
        self.gen = shape.gen
        self.base = base
        self.shape = shape
        self.in_first = shape.in_first
        self.ins = shape.ins
        self.outs = shape.outs
        self.srcs: tuple[int, ...] = ()  # per pin: slot of the output an input reads from, or -1
        self.pure_deps: tuple[_PNode, ...] = ()
        self.exec_outs: tuple[tuple[int, tuple[_PNode, ...]], ...] = ()  # (slot, nodes it starts)
        self.error_flag = -1
        self.error_text = -1
        self.error_targets: tuple[_PNode, ...] = ()
        # Execution inputs wired from several outputs: pin -> every source slot (srcs keeps the first only).
        self.exec_srcs: dict[int, tuple[int, ...]] = _NO_EXEC_SRCS


class _Prepared:
    """What a run needs from a valid board, computed once per Board object (boards are immutable)."""

    __slots__ = ("nodes", "template", "variables")

    def __init__(self, nodes: dict[str, _PNode], template: list[Any], variables: dict[str, Any]) -> None:
        self.nodes = nodes
        self.template = template  # initial pin values by slot (see _prepare)
        self.variables = variables  # initial variable values by id


_PIN_SIGNATURE = attrgetter("pin_type", "name", "data_type")


def _prepare(board: Board) -> _Prepared:
    """Bind every node to its implementation and number every node pin (a slot in a run's values).

    Linear in the size of the board. Nodes laid out alike share one :class:`_Shape`.
    The template holds, per slot, what a read finds before the run writes anything: an
    unconnected data input's own default and a data output's default (what a connected input
    falls back to); Execution pins and connected inputs start as MISSING.
    """
    shapes: dict[tuple[Any, ...], _Shape] = {}
    pnodes: dict[str, _PNode] = {}
    slot_of: dict[str, int] = {}
    template: list[Any] = []
    base = 0
    for node in board.nodes.values():
        pins = tuple(node.pins.values())
        key = (node.name, *map(_PIN_SIGNATURE, pins))
        shape = shapes.get(key)
        node_type = get_node_type(node.name)
        assert node_type is not None  # validation guarantees known node names
        if shape is None:
            shape = shapes[key] = _Shape(pins, node_type)
        pure = True
        for k, pin in enumerate(pins, base):
            slot_of[pin.id] = k
            if pin.data_type == "Execution":
                pure = False
                template.append(MISSING)
            else:
                template.append(pin.default)  # inputs found connected are reset below
        pnodes[node.id] = _PNode(node, node_type.run, shape, base, pure)
        base += len(pins)
    # For each node, the nodes feeding its data inputs (first source of each input only).
    data_sources: dict[str, list[str]] = {}
    for node in board.nodes.values():
        pnode = pnodes[node.id]
        srcs: list[int] | None = None
        exec_outs = []
        feeders: list[str] = []
        for k, pin in enumerate(node.pins.values()):
            if pin.pin_type == "Input":
                if pin.depends_on:
                    sources = sources_of(board, pin)
                    if sources:
                        source = sources[0]
                        if srcs is None:
                            srcs = [-1] * len(node.pins)
                        srcs[k] = slot_of[source.id]
                        template[pnode.base + k] = MISSING  # a connected input reads its source first
                        if pin.data_type != "Execution" and not pnode.shape.inert[k]:
                            feeders.append(source.node_id)  # type: ignore[arg-type]
                        elif pin.data_type == "Execution" and len(sources) > 1:
                            if pnode.exec_srcs is _NO_EXEC_SRCS:
                                pnode.exec_srcs = {}
                            pnode.exec_srcs[k] = tuple(slot_of[p.id] for p in sources)
                continue
            if pin.data_type != "Execution":
                if pin.name == ON_ERROR_TEXT:
                    pnode.error_text = pnode.base + k
                continue
            targets = tuple(dict.fromkeys(pnodes[t.node_id] for t in targets_of(board, pin)))  # type: ignore[index]
            if pin.name == ON_ERROR_FLAG:
                pnode.error_flag = pnode.base + k
                pnode.error_targets = targets
            else:
                exec_outs.append((pnode.base + k, targets))
        if srcs is not None:
            pnode.srcs = tuple(srcs)
        else:
            pnode.srcs = _NO_SOURCES.get(len(node.pins)) or _NO_SOURCES.setdefault(len(node.pins), (-1,) * len(node.pins))
        if exec_outs:
            pnode.exec_outs = tuple(exec_outs)
        if feeders:
            data_sources[node.id] = feeders
    for pnode in pnodes.values():
        if not pnode.pure and pnode.id in data_sources:
            pnode.pure_deps = _pure_deps(pnode.id, pnodes, data_sources)
    variables = {vid: (None if v.default is MISSING else v.default) for vid, v in board.variables.items()}
    return _Prepared(pnodes, template, variables)


_NO_SOURCES: dict[int, tuple[int, ...]] = {}
_NO_EXEC_SRCS: dict[int, tuple[int, ...]] = {}


def _pure_deps(node_id: str, pnodes: dict[str, _PNode], data_sources: dict[str, list[str]]) -> tuple[_PNode, ...]:
    """Pure nodes upstream of ``node_id``'s data inputs, dependencies first (iterative DFS)."""

    def pure_sources(nid: str) -> Iterator[str]:
        return (source for source in data_sources.get(nid, ()) if pnodes[source].pure)

    order: list[_PNode] = []
    done: set[str] = set()
    stack: list[tuple[str, Iterator[str]]] = [(node_id, pure_sources(node_id))]
    on_path = {node_id}
    while stack:
        nid, children = stack[-1]
        for child in children:
            if child not in done and child not in on_path:
                on_path.add(child)
                stack.append((child, pure_sources(child)))
                break
        else:
            stack.pop()
            on_path.discard(nid)
            done.add(nid)
            if nid != node_id:
                order.append(pnodes[nid])
    return tuple(order)


def prepared_form(board: Board) -> tuple[list[Problem], _Prepared | None]:
    """Validation problems and, for a valid board, its prepared form; both computed once per Board."""
    problems = validate_board(board)
    if problems:
        return problems, None
    derived = board._derived
    prepared = derived.get("prepared")
    if prepared is None:
        prepared = derived["prepared"] = _prepare(board)
    return problems, prepared


class _Chain:
    """Runs waves of nodes: everything reached from one wave forms the next one."""

    __slots__ = ("wave", "pos", "next", "body", "first")

    def __init__(self, wave: list[_PNode], body: bool) -> None:
        self.wave = wave  # owned by the chain: reused as the next wave's buffer
        self.pos = 0
        self.next: list[_PNode] = []
        self.body = body  # inside a loop/sequence/parallel body
        self.first = True  # still in the body's first wave


class _Body:
    """A control node suspended while one of its bodies runs."""

    __slots__ = ("gen", "node", "chain", "started", "send", "expires_at")

    def __init__(self, gen: Iterator[list[_PNode]], node: _PNode, chain: _Chain, started: float) -> None:
        self.gen = gen
        self.node = node
        self.chain = chain
        self.started = started
        self.send: Any = None  # what the generator is resumed with
        self.expires_at: float | None = None  # set while a Timed body runs


class NodeContext:
    """What a node implementation sees: its pins by name and the run's services.

    A run passes one context to every plain node, pointed at the node being run; a generator
    node (loop, sequence, parallel) gets a context of its own, since it runs across bodies.
    """

    __slots__ = ("_node", "_run", "_values", "variables")

    def __init__(self, run: "_Run", node: _PNode | None) -> None:
        self._node = node
        self._run = run
        self._values = run.values
        self.variables: dict[str, Any] = run.variables  # the run's variables by id (read and written by nodes)

    @property
    def node_id(self) -> str:
        return self._node.id  # type: ignore[union-attr]

    @property
    def node_name(self) -> str:
        return self._node.name  # type: ignore[union-attr]

    # -- inputs ---------------------------------------------------------------------------
    def _read(self, node: _PNode, k: int) -> Any:
        # Own run-time value first, then the connected pin's value or default, then our default.
        values = self._values
        value = values[node.base + k]
        if value is not MISSING:
            return value
        name = node.shape.names[k]
        pin = tuple(self._run.board.nodes[node.id].pins.values())[k]
        source = node.srcs[k]
        if source >= 0:
            value = values[source]
            if value is MISSING:
                value = sources_of(self._run.board, pin)[0].default
                if value is MISSING:
                    raise NodeError(f"input '{name}' has no value: its source has not produced one")
            return value
        value = pin.default
        if value is MISSING:
            raise NodeError(f"input '{name}' is not connected and has no default value")
        return value

    def get(self, name: str) -> Any:
        node = self._node
        k = node.in_first.get(name)  # type: ignore[union-attr]
        if k is None:
            raise NodeError(f"node has no input pin named '{name}'")
        # Same as _read for the common cases (the slot template holds the defaults): this is the
        # hottest call in the engine.
        values = self._values
        value = values[node.base + k]  # type: ignore[union-attr]
        if value is MISSING:
            source = node.srcs[k]  # type: ignore[union-attr]
            if source < 0 or (value := values[source]) is MISSING:
                return self._read(node, k)  # type: ignore[arg-type]
        return value

    def get_each(self, name: str) -> Iterator[Any]:
        """Values of every input called ``name`` in pin order, read lazily (for short-circuiting)."""
        node = self._node
        for k in node.ins.get(name, ()):  # type: ignore[union-attr]
            yield self._read(node, k)  # type: ignore[arg-type]

    def has_input(self, name: str) -> bool:
        return name in self._node.in_first  # type: ignore[union-attr]

    def exec_inputs_arrived(self, name: str) -> bool:
        """True when every Execution input called ``name`` is wired and its source flag is active."""
        node = self._node
        values = self._values
        for k in node.ins.get(name, ()):  # type: ignore[union-attr]
            value = values[node.base + k]  # type: ignore[union-attr]
            if value is MISSING:
                source = node.srcs[k]  # type: ignore[union-attr]
                if source < 0:
                    return False
                value = values[source]
            if value is not True:
                return False
        return True

    def set_inputs(self, name: str, value: Any) -> None:
        node = self._node
        for k in node.ins.get(name, ()):  # type: ignore[union-attr]
            self._values[node.base + k] = value  # type: ignore[union-attr]

    # -- outputs --------------------------------------------------------------------------
    def set(self, name: str, value: Any) -> None:
        node = self._node
        ks = node.outs.get(name)  # type: ignore[union-attr]
        if ks is not None:
            base = node.base  # type: ignore[union-attr]
            values = self._values
            for k in ks:
                values[base + k] = value

    # activate/deactivate repeat set() rather than call it: they run once per step, and
    # the extra call showed in bench/engine.py.
    def activate(self, name: str) -> None:
        node = self._node
        ks = node.outs.get(name)  # type: ignore[union-attr]
        if ks is not None:
            base = node.base  # type: ignore[union-attr]
            values = self._values
            for k in ks:
                values[base + k] = True

    def deactivate(self, name: str) -> None:
        node = self._node
        ks = node.outs.get(name)  # type: ignore[union-attr]
        if ks is not None:
            base = node.base  # type: ignore[union-attr]
            values = self._values
            for k in ks:
                values[base + k] = False

    def output_pins(self) -> list[tuple[str, str]]:
        """(name, data_type) of every output pin, in pin order; includes editor-added ones."""
        return list(self._node.shape.output_pins)  # type: ignore[union-attr]

    def targets(self, name: str) -> list[_PNode]:
        """Nodes wired to the Execution outputs called ``name``, in pin order, each node once."""
        node = self._node
        names = node.shape.names  # type: ignore[union-attr]
        found: dict[_PNode, None] = {}
        for slot, nodes in node.exec_outs:  # type: ignore[union-attr]
            if names[slot - node.base] == name:  # type: ignore[union-attr]
                found.update(dict.fromkeys(nodes))
        return list(found)

    # -- referenced functions (Flow-Like's fn_refs) -------------------------------------------
    def _handler(self) -> _PNode | None:
        for ref in self._run.board.nodes[self._node.id].fn_refs:  # type: ignore[union-attr]
            handler = self._run.nodes.get(ref)
            if handler is None:
                raise NodeError(f"referenced function node '{ref}' is not on this board")
            return handler
        return None

    def handler_outputs(self) -> list[tuple[str, str]]:
        """(name, data_type) of the data outputs of the first function node this node references.

        Event-style nodes (a TCP listener, a subscription) deliver each incoming message to that
        node: they fill these outputs, and run what its Execution outputs lead to, as a body.
        Empty when the node references no function.
        """
        handler = self._handler()
        if handler is None:
            return []
        return [(name, data_type) for name, data_type in handler.shape.output_pins if data_type != "Execution"]

    def fire_handler(self, values: dict[str, Any]) -> list[_PNode]:
        """Set the referenced function's outputs to ``values``, activate its Execution outputs and
        return the nodes they lead to (a generator node yields them as a body)."""
        handler = self._handler()
        if handler is None:
            return []
        slots = self._values
        for name, value in values.items():
            for k in handler.outs.get(name, ()):
                slots[handler.base + k] = value
        targets: dict[_PNode, None] = {}
        for slot, nodes in handler.exec_outs:
            slots[slot] = True
            targets.update(dict.fromkeys(nodes))
        return list(targets)

    def refresh_pure(self) -> None:
        """Re-evaluate the pure nodes feeding this node (the while loop does this per iteration)."""
        for dep in self._node.pure_deps:  # type: ignore[union-attr]
            self._run.run_pure(dep)

    # -- run services ---------------------------------------------------------------------
    @property
    def payload(self) -> Any:
        """The run payload; only the node the run was started at can see it."""
        return self._run.payload if self._node.id == self._run.start_id else MISSING  # type: ignore[union-attr]

    @property
    def egress(self) -> EgressPolicy:
        return self._run.egress

    @property
    def limits(self) -> RunLimits:
        return self._run.limits

    @property
    def files(self) -> FileServices:
        """The app's folders (see files.py); NodeError when the run was started without them."""
        files = self._run.files
        if files is None:
            raise NodeError("file nodes need app storage, and this run has none "
                            "(run it as a job, or with the engine CLI)")
        return files

    @property
    def resources(self) -> RunResources:
        """Connections opened by this run's nodes; all closed when the run ends (see resources.py)."""
        return self._run.resources

    def sleep(self, seconds: float) -> None:
        self._run.sleep(seconds)

    def checkpoint(self) -> None:
        """Stop here if the run was cancelled or ran past its deadline.

        Nodes that loop over network reads (streams, mailboxes, subscriptions) call this between
        reads, so a cancel or the deadline ends them within one read's timeout.
        """
        stop = self._run._stop_reason()
        if stop is not None:
            raise stop

    def time_left(self) -> float:
        """Seconds until the run's deadline (never negative): the upper bound for any blocking call."""
        return max(0.0, self._run._check_at - time.monotonic())

    @property
    def run_state(self) -> dict[str, Any]:
        """Scratch space of this run, shared by its nodes and gone when the run ends (never exported).

        Nodes keep here what must not travel in pin values, such as an API key typed into a board.
        """
        return self._run.state

    def log(self, level: str, message: str) -> None:
        if self._run.on_event is not None:
            self._run.log(self._node, level, message)  # type: ignore[arg-type]

    def toast(self, message: str, level: str) -> None:
        self._run.emit(ev.TOAST, self._node, message=message, data={"message": message, "level": level})

    def notify(self, notification: dict[str, Any]) -> None:
        """Emit a notification meant for a user (Flow-Like's 'flow_notification' stream event)."""
        self._run.emit(ev.NOTIFICATION, self._node, message=notification.get("title"), data=notification)

    def progress(self, payload: dict[str, Any]) -> None:
        self._run.emit(ev.PROGRESS, self._node, message=payload.get("message"), data=payload)

    def emit_result(self, value: Any) -> None:
        self._run.set_result(self._node, value)  # type: ignore[arg-type]

    # -- state and calls ------------------------------------------------------------------
    @property
    def state(self) -> dict[str, Any]:
        """This node's own state, kept across the times it runs within one run (Do Once, Gate, ...)."""
        return self._run.node_states.setdefault(self._node.id, {})  # type: ignore[union-attr]

    def exec_input_active(self, name: str) -> bool:
        """Whether an Execution input called ``name`` reads as fired: its own flag, else its source's."""
        node = self._node
        values = self._values
        for k in node.ins.get(name, ()):  # type: ignore[union-attr]
            value = values[node.base + k]  # type: ignore[union-attr]
            if value is True:
                return True
            if value is MISSING:
                sources = node.exec_srcs.get(k) or (node.srcs[k],)  # type: ignore[union-attr]
                if any(source >= 0 and values[source] is True for source in sources):
                    return True
        return False

    def input_names(self) -> list[str]:
        """Names of every input pin, in pin order, each once; includes editor-added ones."""
        return list(self._node.ins)  # type: ignore[union-attr]

    def input_friendly_names(self) -> dict[str, str]:
        """Name -> friendly name of every input pin of this node on the board (editor-added ones too)."""
        pins = self._run.board.nodes[self._node.id].pins.values()  # type: ignore[union-attr]
        return {pin.name: pin.friendly_name for pin in pins if pin.pin_type == "Input"}

    @property
    def user(self) -> dict[str, Any] | None:
        """The user the run executes for (see ``run_board(user=...)``), or None (CLI and test runs)."""
        return self._run.user

    @property
    def delegated(self) -> bool:
        """True while this node runs because a Call Reference called it (its outputs were set by the caller)."""
        return self._node.id in self._run.delegated  # type: ignore[union-attr]

    def call(self, node_id: str, values: dict[str, Any]) -> list[_PNode]:
        """Prepare calling the referenceable node ``node_id``: set its data outputs named in ``values``
        and mark it delegated. Yield the returned list to run it; call ``end_call`` afterwards."""
        target = self._run.nodes.get(node_id)
        node_type = get_node_type(target.name) if target is not None else None
        if target is None or node_type is None:
            raise NodeError(f"function reference '{node_id}' is not a node on this board")
        if not node_type.definition.can_be_referenced_by_fns:
            raise NodeError(f"node '{node_id}' ({target.name}) cannot be called as a function")
        if node_id in self._run.delegated:
            raise NodeError(f"function '{node_id}' is already running: recursive calls are not supported")
        names = target.shape.names
        for k, pin in enumerate(self._run.board.nodes[node_id].pins.values()):
            if pin.pin_type == "Output" and pin.data_type != "Execution" and names[k] in values:
                self._values[target.base + k] = values[names[k]]
        self._run.delegated.add(node_id)
        return [target]

    def end_call(self, node_id: str) -> None:
        self._run.delegated.discard(node_id)

    # -- variables changed in place --------------------------------------------------------
    # Values are shared, never cloned: a pin, a struct or the board's defaults may hold the very
    # object a variable holds, so a node may change a variable's value in place only when this
    # run created that object for the variable and nothing has read it out since. The By
    # Reference collection nodes keep that ownership here; nodes that hand a variable's value to
    # other nodes read it with read_variable, which ends the ownership.
    def read_variable(self, var_id: str) -> Any:
        """A variable's value for passing on to other nodes (ends in-place ownership of it)."""
        self._run.owned.pop(var_id, None)
        return self.variables[var_id]

    def owned_variable(self, var_id: str) -> tuple[Any, Any] | None:
        """``(value, extra)`` stored by :meth:`own_variable` if the variable still holds that value
        and nobody read it out since: the caller may then change the value (and ``extra``) in place."""
        entry = self._run.owned.get(var_id)
        if entry is not None and self.variables.get(var_id) is entry[0]:
            return entry
        return None

    def own_variable(self, var_id: str, value: Any, extra: Any = None) -> None:
        """Store a value that no one else holds in a variable and keep ownership of it (with
        ``extra``, e.g. an index kept alongside)."""
        self.variables[var_id] = value
        self._run.owned[var_id] = (value, extra)

    # -- function references (tools) --------------------------------------------------
    def referenced_functions(self, ids: list[str] | None = None) -> list[Node]:
        """Function (event) nodes of this board: those with the given ids, or by default those this
        node references (Flow-Like's ``fn_refs``), in order."""
        board = self._run.board
        found = []
        for ref in board.nodes[self._node.id].fn_refs if ids is None else ids:  # type: ignore[union-attr]
            node = board.nodes.get(ref)
            node_type = get_node_type(node.name) if node is not None else None
            if node is None or node_type is None or not node_type.definition.can_be_referenced_by_fns:
                raise NodeError(f"referenced function '{ref}' is not a function node of this board")
            found.append(node)
        return found

    def start_call(self, node_id: str, arguments: dict[str, Any]) -> list[_PNode]:
        """Prepare a call of the function (event) node ``node_id``, as Flow-Like's delegated call
        does: its data outputs take the arguments of the same name and its Execution outputs fire.
        Returns the nodes to run (yield them from a generator node), then call ``finish_call``.
        While the call runs, a returned result belongs to the call, not to the run."""
        target = self._run.nodes[node_id]
        values = self._values
        names = target.shape.names
        for k, pin in enumerate(self._run.board.nodes[node_id].pins.values()):
            if pin.pin_type == "Input":
                continue
            if pin.data_type == "Execution":
                values[target.base + k] = pin.name != ON_ERROR_FLAG
            elif pin.name in arguments:
                values[target.base + k] = arguments[pin.name]
        self._run.captures.append([False, None])
        found: dict[_PNode, None] = {}
        for slot, nodes in target.exec_outs:
            if names[slot - target.base] != ON_ERROR_FLAG:
                found.update(dict.fromkeys(nodes))
        return list(found)

    def finish_call(self) -> tuple[bool, Any]:
        """(whether the call returned a result, the result)."""
        returned, value = self._run.captures.pop()
        return returned, value

    def set_default_result(self, value: Any) -> None:
        """The run's result when no node returns one (a chat run answers with its chat response)."""
        self._run.default_result = value

    def chat(self, data: dict[str, Any]) -> None:
        """Push a chat update (response, chunk, step, ...) to whoever started the run."""
        self._run.emit(ev.CHAT, self._node, data=data)


class _Run:
    def __init__(self, board: Board, prepared: _Prepared, start_id: str, payload: Any, variables: dict[str, Any],
                 limits: RunLimits, cancel: CancelToken, on_event: EventSink | None, egress: EgressPolicy,
                 began: float, user: dict[str, Any] | None = None, files: FileServices | None = None) -> None:
        self.board = board
        self.files = files.for_run() if files is not None else None
        self.user = user
        self.node_states: dict[str, dict[str, Any]] = {}
        self.delegated: set[str] = set()  # nodes running because a Call Reference called them
        self._timed: list[_Body] = []  # bodies running under a time budget, outermost first
        self.nodes = prepared.nodes
        self.start_id = start_id
        self.payload = payload
        self.variables = variables
        self.limits = limits
        self.cancel = cancel
        self.on_event = on_event
        self.egress = egress
        self.values: list[Any] = prepared.template.copy()  # this run's pin values, by slot
        self.steps = 0
        self.result: Any = None
        self.has_result = False
        self.owned: dict[str, tuple[Any, Any]] = {}  # variable id -> (value, extra); see NodeContext.own_variable
        self.failure: dict[str, Any] | None = None
        self.state: dict[str, Any] = {}
        self.default_result: Any = None
        self.captures: list[list[Any]] = []  # results of function calls in progress (innermost last)
        self.min_log_rank = ev.LEVEL_RANK.get(board.log_level, 0)
        self.ctx = NodeContext(self, None)  # shared by plain nodes, pointed at the running one
        self._max_steps = limits.max_steps
        self._began = began  # when run_board was called: durations include validation and preparation
        self._deadline_at = time.monotonic() + limits.deadline_seconds
        self._check_at = self._deadline_at  # the earliest of the run's deadline and every body's budget
        self.resources = RunResources()

    # -- services used by nodes -----------------------------------------------------------
    def emit(self, kind: str, rnode: _PNode | None, **fields: Any) -> None:
        if self.on_event is not None:
            self.on_event(EngineEvent(kind, rnode.id if rnode else None, rnode.name if rnode else None,
                                      time.time(), **fields))

    def log(self, rnode: _PNode, level: str, message: str) -> None:
        if self.on_event is not None and ev.LEVEL_RANK.get(level, 0) >= self.min_log_rank:
            self.emit(ev.LOG, rnode, level=level, message=message)

    def set_result(self, rnode: _PNode, value: Any) -> None:
        if self.captures:  # inside a function call: the value answers the call
            capture = self.captures[-1]
            if not capture[0]:
                capture[0], capture[1] = True, value
            return
        # Callers answer with the first result event, so the first value is the run's result.
        if not self.has_result:
            self.result = value
            self.has_result = True
        self.emit(ev.RESULT, rnode, data=value)

    def sleep(self, seconds: float) -> None:
        remaining = self._check_at - time.monotonic()
        if self.cancel.wait(max(0.0, min(seconds, remaining))):
            raise _Stop("cancelled", "cancelled", "the run was cancelled")
        if seconds > remaining:
            stop = self._stop_reason()
            if stop is not None:
                raise stop

    def _set_budget(self, frame: _Body, seconds: float | None) -> None:
        """Start (seconds) or end (None) the time budget of a Timed body."""
        if seconds is None:
            self._timed.remove(frame)
            frame.expires_at = None
        else:
            frame.expires_at = time.monotonic() + seconds
            self._timed.append(frame)
        self._check_at = min([self._deadline_at, *(f.expires_at for f in self._timed)])  # type: ignore[misc]

    # -- scheduling -----------------------------------------------------------------------
    def _stop_reason(self) -> _Stop | None:
        if self.steps > self.limits.max_steps:
            return _Stop("failed", "step_limit", f"step limit of {self.limits.max_steps} exceeded")
        if self.cancel._flag:
            return _Stop("cancelled", "cancelled", "the run was cancelled")
        now = time.monotonic()
        if now > self._deadline_at:
            return _Stop("failed", "deadline", f"deadline of {self.limits.deadline_seconds} s exceeded")
        for frame in self._timed:  # outermost first: unwinding to it abandons the inner ones too
            if now >= frame.expires_at:  # type: ignore[operator]
                return _Expired(frame)
        return None

    def _tick(self) -> None:
        """Count a step and stop the run if a limit is hit or it was cancelled.

        The step count and the cancel flag are checked on every step; the clock is read every 32
        steps only: it is the costliest check and a step is short (nodes that wait, like delay,
        watch the deadline themselves). ``execute`` inlines this.
        """
        steps = self.steps = self.steps + 1
        if steps > self._max_steps or self.cancel._flag or (not steps & 31 and time.monotonic() > self._check_at):
            stop = self._stop_reason()
            if stop is not None:
                raise stop

    def run_pure(self, rnode: _PNode) -> None:
        self._tick()
        ctx = self.ctx
        previous = ctx._node
        ctx._node = rnode
        on_event = self.on_event
        if on_event is None:
            try:
                rnode.fn(ctx)
            except _Stop:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure inside a node is that node's failure
                raise _PureFailure(rnode, _message(exc)) from None
            finally:
                ctx._node = previous
            return
        started = time.perf_counter()
        self.emit(ev.NODE_START, rnode)
        try:
            rnode.fn(ctx)
        except _Stop:
            raise
        except Exception as exc:  # noqa: BLE001
            message = _message(exc)
            self._end_event(rnode, started, False, message)
            raise _PureFailure(rnode, message) from None
        finally:
            ctx._node = previous
        self._end_event(rnode, started, True, None)

    def _end_event(self, rnode: _PNode, started: float, ok: bool, message: str | None) -> None:
        self.emit(ev.NODE_END, rnode, ok=ok, message=message,
                  duration_ms=round((time.perf_counter() - started) * 1000.0, 3))

    def _succeeded(self, rnode: _PNode, chain: _Chain, started: float) -> None:
        if self.on_event is not None:
            self._end_event(rnode, started, True, None)
        values = self.values
        for slot, targets in rnode.exec_outs:
            if values[slot] is True:
                chain.next.extend(targets)

    def _failed(self, rnode: _PNode, chain: _Chain, exc: BaseException, started: float) -> None:
        message = _message(exc)
        culprit = exc.node if isinstance(exc, _PureFailure) else rnode
        if self.on_event is not None:
            self._end_event(rnode, started, False, message)
        self.log(culprit, "Error", message)
        if rnode.error_flag >= 0:
            self.values[rnode.error_flag] = True
            if rnode.error_text >= 0:
                self.values[rnode.error_text] = message
        # As in Flow-Like, inside a body only the body's first nodes get their handler chain run.
        if rnode.error_targets and (not chain.body or chain.first):
            chain.next.extend(rnode.error_targets)
        elif self.failure is None:
            self.failure = {"node_id": culprit.id, "node_name": culprit.name, "message": message}

    def execute(self) -> RunResult:
        # Whatever ends the run (completion, failure, a limit, cancellation, a crash), the
        # connections its nodes opened are closed before the result is returned.
        try:
            return self._execute()
        finally:
            self.resources.close_all()

    def _execute(self) -> RunResult:
        stack: list[Any] = [_Chain([self.nodes[self.start_id]], body=False)]
        values = self.values
        ctx = self.ctx
        run_pure = self.run_pure
        observed = self.on_event is not None
        cancel = self.cancel
        max_steps = self._max_steps
        monotonic = time.monotonic
        perf_counter = time.perf_counter
        try:
            while stack:  # re-entered only after a Timed body ran out of time and was abandoned
                try:
                    while stack:
                        top = stack[-1]
                        if type(top) is not _Chain:
                            if top.expires_at is not None:
                                self._set_budget(top, None)
                            send, top.send = top.send, None
                            try:
                                request = top.gen.send(send)
                            except StopIteration:
                                stack.pop()
                                self._succeeded(top.node, top.chain, top.started)
                            except _Stop:
                                raise
                            except Exception as exc:  # noqa: BLE001
                                stack.pop()
                                self._failed(top.node, top.chain, exc, top.started)
                            else:
                                if type(request) is Timed:
                                    self._set_budget(top, request.seconds)
                                    request = request.nodes
                                stack.append(_Chain(list(request), True))
                            continue
                        wave = top.wave
                        pos = top.pos
                        if pos >= len(wave):
                            following = top.next
                            if not following:
                                stack.pop()
                                continue
                            if len(following) == 1:
                                wave.clear()  # reuse the spent wave as the buffer for the one after
                                top.next = wave
                                wave = top.wave = following
                            else:
                                # A node reached several times within one wave runs once.
                                wave = top.wave = list(dict.fromkeys(following))
                                following.clear()
                            top.first = False
                            pos = 0
                        top.pos = pos + 1
                        node = wave[pos]
                        # One step: the checks of _tick, inlined.
                        steps = self.steps = self.steps + 1
                        if steps > max_steps or cancel._flag or (not steps & 31 and monotonic() > self._check_at):
                            stop = self._stop_reason()
                            if stop is not None:
                                raise stop
                        started = 0.0
                        if observed:
                            started = perf_counter()
                            self.emit(ev.NODE_START, node)
                        try:
                            deps = node.pure_deps
                            if deps:
                                if observed:
                                    for dep in deps:
                                        run_pure(dep)
                                else:
                                    for dep in deps:  # run_pure without events, inlined
                                        steps = self.steps = self.steps + 1
                                        if steps > max_steps or cancel._flag or (not steps & 31 and monotonic() > self._check_at):
                                            stop = self._stop_reason()
                                            if stop is not None:
                                                raise stop
                                        ctx._node = dep
                                        try:
                                            dep.fn(ctx)
                                        except _Stop:
                                            raise
                                        except Exception as exc:  # noqa: BLE001
                                            raise _PureFailure(dep, _message(exc)) from None
                            if node.gen:
                                body = node.fn(NodeContext(self, node))
                            else:
                                ctx._node = node
                                body = node.fn(ctx)
                        except _Stop:
                            raise
                        except Exception as exc:  # noqa: BLE001 - any failure inside a node is that node's failure
                            self._failed(node, top, exc, started)
                            continue
                        if body is not None:
                            stack.append(_Body(body, node, top, started))
                            continue
                        if observed:
                            self._end_event(node, started, True, None)
                        for slot, targets in node.exec_outs:
                            if values[slot] is True:
                                top.next.extend(targets)
                except _Expired as expired:
                    self._abandon(stack, expired.frame)
        except _Stop as stop:
            return self._finish(stop.status, stop.reason, {"node_id": None, "node_name": None, "message": str(stop)})
        if self.failure is not None:
            return self._finish("failed", "node_error", self.failure)
        return self._finish("completed", None, None)

    def _abandon(self, stack: list[Any], frame: _Body) -> None:
        """Drop every frame above ``frame`` (its Timed body ran out of time) and resume it with True."""
        while stack[-1] is not frame:
            top = stack.pop()
            if type(top) is _Body:
                if top.expires_at is not None:
                    self._set_budget(top, None)
                top.gen.close()
        frame.send = True

    def _finish(self, status: str, reason: str | None, error: dict[str, Any] | None) -> RunResult:
        duration = round((time.monotonic() - self._began) * 1000.0, 3)
        result = self.result if self.has_result else self.default_result
        return RunResult(status, reason, result, error, self.steps, duration)


def _message(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        # No node's failure for a board to handle: the process is out of memory (its
        # limit), so the whole run stops, with a reason the caller can tell apart.
        raise _Stop("failed", "memory_limit", "the run ran out of memory") from None
    if isinstance(exc, NodeError):
        return str(exc)
    # Not a deliberate node failure: still the node's failure, named so it can be reported.
    return f"internal error in node: {type(exc).__name__}: {exc}"


def _initial_variables(board: Board, defaults: dict[str, Any], overrides: dict[str, Any] | None
                       ) -> tuple[dict[str, Any], list[Problem]]:
    values = dict(defaults)  # a run's own copy: runs never share variable state
    problems: list[Problem] = []
    if not overrides:
        return values, problems
    by_name: dict[str, list[str]] = {}
    for vid, variable in board.variables.items():
        by_name.setdefault(variable.name, []).append(vid)
    for key, value in overrides.items():
        if key in values:
            values[key] = value
        elif len(by_name.get(key, ())) == 1:
            values[by_name[key][0]] = value
        else:
            why = "matches several variables by name" if by_name.get(key) else "is not a variable id or name"
            problems.append(Problem(None, None, "unknown_variable", f"variable override '{key}' {why}"))
    return values, problems


def run_board(board: Board, start_node_id: str, payload: Any = None, *, variables: dict[str, Any] | None = None,
              limits: RunLimits | None = None, cancel: CancelToken | None = None,
              on_event: EventSink | None = None, egress: EgressPolicy | None = None,
              user: dict[str, Any] | None = None, files: FileServices | None = None) -> RunResult:
    """Validate ``board`` and run it from ``start_node_id``. Never raises for board content.

    Validation and the prepared form (nodes bound to their implementations, pin tables) are
    computed on the first run of a Board object and reused by later runs of the same object:
    a loaded Board is immutable. Each run has its own pin values, variables and counters.

    ``user`` describes who the run executes for (the user who submitted the job), as read by the
    Utils/User nodes: ``{"sub": id, "roles": [...], "permissions": int, "technical": bool,
    "key_id": str | None, ...}``. None (CLI and embedded runs) makes those nodes fail clearly.

    ``files`` gives the file nodes the app's folders (:class:`~boardrun.engine.files.FileServices`,
    built for the job's app and user); without it those nodes fail clearly.
    """
    began = time.monotonic()

    def early(reason: str, error: dict[str, Any]) -> RunResult:
        return RunResult("failed", reason, None, error, 0, round((time.monotonic() - began) * 1000.0, 3))

    problems, prepared = prepared_form(board)
    defaults = prepared.variables if prepared is not None else {
        vid: (None if v.default is MISSING else v.default) for vid, v in board.variables.items()}
    initial, override_problems = _initial_variables(board, defaults, variables)
    problems += override_problems
    if problems or prepared is None:
        return early("invalid_board", {"problems": [p.to_dict() for p in problems]})
    if start_node_id not in board.nodes:
        return early("unknown_start_node", {"node_id": start_node_id, "node_name": None,
                                            "message": f"no node with id '{start_node_id}' on this board"})
    run = _Run(board, prepared, start_node_id, payload, initial, limits or RunLimits(), cancel or CancelToken(),
               on_event, egress or EgressPolicy(), began, user, files)
    return run.execute()
