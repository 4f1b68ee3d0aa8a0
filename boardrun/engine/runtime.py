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

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from . import events as ev
from .errors import NodeError
from .events import EngineEvent, EventSink
from .graph import is_pure, sources_of, targets_of
from .http_egress import EgressPolicy
from .limits import CancelToken, RunLimits
from .model import MISSING, Board, Node
from .registry import get as get_node_type
from .validate import Problem, validate_board

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


class _PureFailure(NodeError):
    """A pure dependency failed while a node was being prepared; remembers which one."""

    def __init__(self, node: "_RNode", message: str) -> None:
        super().__init__(message)
        self.node = node


class _InPin:
    __slots__ = ("id", "name", "data_type", "source", "source_default", "default")

    def __init__(self, pin_id: str, name: str, data_type: str, source: str | None, source_default: Any,
                 default: Any) -> None:
        self.id = pin_id
        self.name = name
        self.data_type = data_type
        self.source = source
        self.source_default = source_default
        self.default = default


class _RNode:
    """A board node bound to its implementation, with all pin lookups precomputed."""

    __slots__ = ("id", "name", "fn", "ctx", "pure", "pure_deps", "exec_outs", "error_flag", "error_text",
                 "error_targets")

    def __init__(self, node: Node, fn: Callable[["NodeContext"], Any]) -> None:
        self.id = node.id
        self.name = node.name
        self.fn = fn
        self.pure = is_pure(node)
        self.ctx: NodeContext
        self.pure_deps: tuple[_RNode, ...] = ()
        self.exec_outs: tuple[tuple[str, tuple[_RNode, ...]], ...] = ()
        self.error_flag: str | None = None
        self.error_text: str | None = None
        self.error_targets: tuple[_RNode, ...] = ()


class _Chain:
    """Runs waves of nodes: everything reached from one wave forms the next one."""

    __slots__ = ("wave", "pos", "next", "body", "first")

    def __init__(self, wave: list[_RNode], body: bool) -> None:
        self.wave = wave
        self.pos = 0
        self.next: list[_RNode] = []
        self.body = body  # inside a loop/sequence/parallel body
        self.first = True  # still in the body's first wave


class _Body:
    """A control node suspended while one of its bodies runs."""

    __slots__ = ("gen", "node", "chain", "started")

    def __init__(self, gen: Iterator[list[_RNode]], node: _RNode, chain: _Chain, started: float) -> None:
        self.gen = gen
        self.node = node
        self.chain = chain
        self.started = started


class NodeContext:
    """What a node implementation sees: its pins by name and the run's services."""

    __slots__ = ("node_id", "node_name", "_run", "_values", "_in", "_ins", "_outs", "_rnode")

    def __init__(self, run: "_Run", rnode: _RNode, inputs: list[_InPin], outputs: list[tuple[str, str, str]]) -> None:
        self.node_id = rnode.id
        self.node_name = rnode.name
        self._run = run
        self._rnode = rnode
        self._values = run.values
        self._ins: dict[str, list[_InPin]] = {}
        for pin in inputs:
            self._ins.setdefault(pin.name, []).append(pin)
        self._in = {name: pins[0] for name, pins in self._ins.items()}
        self._outs: dict[str, list[str]] = {}
        for pin_id, name, _ in outputs:
            self._outs.setdefault(name, []).append(pin_id)

    # -- inputs ---------------------------------------------------------------------------
    def _read(self, pin: _InPin) -> Any:
        # Own run-time value first, then the connected pin's value or default, then our default.
        value = self._values.get(pin.id, MISSING)
        if value is not MISSING:
            return value
        if pin.source is not None:
            value = self._values.get(pin.source, MISSING)
            if value is MISSING:
                value = pin.source_default
                if value is MISSING:
                    raise NodeError(f"input '{pin.name}' has no value: its source has not produced one")
            return value
        value = pin.default
        if value is MISSING:
            raise NodeError(f"input '{pin.name}' is not connected and has no default value")
        return value

    def get(self, name: str) -> Any:
        pin = self._in.get(name)
        if pin is None:
            raise NodeError(f"node has no input pin named '{name}'")
        # Same as _read, inlined for the common cases: this is the hottest call in the engine.
        values = self._values
        value = values.get(pin.id, MISSING)
        if value is MISSING:
            source = pin.source
            value = pin.default if source is None else values.get(source, MISSING)
            if value is MISSING:
                return self._read(pin)
        return value

    def get_each(self, name: str) -> Iterator[Any]:
        """Values of every input called ``name`` in pin order, read lazily (for short-circuiting)."""
        for pin in self._ins.get(name, ()):
            yield self._read(pin)

    def has_input(self, name: str) -> bool:
        return name in self._in

    def exec_inputs_arrived(self, name: str) -> bool:
        """True when every Execution input called ``name`` is wired and its source flag is active."""
        for pin in self._ins.get(name, ()):
            value = self._values.get(pin.id, MISSING)
            if value is MISSING:
                if pin.source is None:
                    return False
                value = self._values.get(pin.source, MISSING)
            if value is not True:
                return False
        return True

    def set_inputs(self, name: str, value: Any) -> None:
        for pin in self._ins.get(name, ()):
            self._values[pin.id] = value

    # -- outputs --------------------------------------------------------------------------
    def set(self, name: str, value: Any) -> None:
        for pin_id in self._outs.get(name, ()):
            self._values[pin_id] = value

    def activate(self, name: str) -> None:
        for pin_id in self._outs.get(name, ()):
            self._values[pin_id] = True

    def deactivate(self, name: str) -> None:
        for pin_id in self._outs.get(name, ()):
            self._values[pin_id] = False

    def output_pins(self) -> list[tuple[str, str]]:
        """(name, data_type) of every output pin, in pin order; includes editor-added ones."""
        return [(name, data_type) for _, name, data_type in self._run.outputs_of[self.node_id]]

    def targets(self, name: str) -> list[_RNode]:
        """Nodes wired to the Execution outputs called ``name``, in pin order, each node once."""
        found: dict[_RNode, None] = {}
        for pin_id, nodes in self._rnode.exec_outs:
            if self._run.pin_names[pin_id] == name:
                found.update(dict.fromkeys(nodes))
        return list(found)

    def refresh_pure(self) -> None:
        """Re-evaluate the pure nodes feeding this node (the while loop does this per iteration)."""
        for dep in self._rnode.pure_deps:
            self._run.run_pure(dep)

    # -- run services ---------------------------------------------------------------------
    @property
    def payload(self) -> Any:
        """The run payload; only the node the run was started at can see it."""
        return self._run.payload if self.node_id == self._run.start_id else MISSING

    @property
    def variables(self) -> dict[str, Any]:
        return self._run.variables

    @property
    def egress(self) -> EgressPolicy:
        return self._run.egress

    @property
    def limits(self) -> RunLimits:
        return self._run.limits

    def sleep(self, seconds: float) -> None:
        self._run.sleep(seconds)

    def log(self, level: str, message: str) -> None:
        if self._run.on_event is not None:
            self._run.log(self._rnode, level, message)

    def toast(self, message: str, level: str) -> None:
        self._run.emit(ev.TOAST, self._rnode, message=message, data={"message": message, "level": level})

    def progress(self, payload: dict[str, Any]) -> None:
        self._run.emit(ev.PROGRESS, self._rnode, message=payload.get("message"), data=payload)

    def emit_result(self, value: Any) -> None:
        self._run.set_result(self._rnode, value)


class _Run:
    def __init__(self, board: Board, start_id: str, payload: Any, variables: dict[str, Any], limits: RunLimits,
                 cancel: CancelToken, on_event: EventSink | None, egress: EgressPolicy, began: float) -> None:
        self.board = board
        self.start_id = start_id
        self.payload = payload
        self.variables = variables
        self.limits = limits
        self.cancel = cancel
        self.on_event = on_event
        self.egress = egress
        self.values: dict[str, Any] = {}
        self.steps = 0
        self.result: Any = None
        self.has_result = False
        self.failure: dict[str, Any] | None = None
        self.min_log_rank = ev.LEVEL_RANK.get(board.log_level, 0)
        self.pin_names = {pin.id: pin.name for pin in board.pins.values()}
        self.outputs_of: dict[str, list[tuple[str, str, str]]] = {}
        self.nodes = self._compile(board)
        self._is_cancelled = cancel._event.is_set  # bound once: checked on every step
        self._max_steps = limits.max_steps
        self._began = began  # when run_board was called: durations include validation and preparation
        self._deadline_at = time.monotonic() + limits.deadline_seconds

    # -- compilation ----------------------------------------------------------------------
    def _compile(self, board: Board) -> dict[str, _RNode]:
        rnodes: dict[str, _RNode] = {}
        for node in board.nodes.values():
            node_type = get_node_type(node.name)
            assert node_type is not None  # validation guarantees known node names
            rnodes[node.id] = _RNode(node, node_type.run)
        # For each node, the nodes feeding its data inputs (first source of each input only).
        data_sources: dict[str, list[str]] = {}
        for node in board.nodes.values():
            rnode = rnodes[node.id]
            ordered = sorted(node.pins.values(), key=lambda p: (p.index, p.id))
            inputs: list[_InPin] = []
            outputs: list[tuple[str, str, str]] = []
            exec_outs = []
            feeders: list[str] = []
            for pin in ordered:
                if pin.pin_type == "Input":
                    sources = sources_of(board, pin) if pin.depends_on else ()
                    source = sources[0] if sources else None
                    inputs.append(_InPin(pin.id, pin.name, pin.data_type, source.id if source else None,
                                         source.default if source else MISSING, pin.default))
                    if source is not None and pin.data_type != "Execution":
                        feeders.append(source.node_id)  # type: ignore[arg-type]
                    continue
                outputs.append((pin.id, pin.name, pin.data_type))
                if pin.data_type != "Execution":
                    if pin.name == ON_ERROR_TEXT:
                        rnode.error_text = pin.id
                    continue
                targets = tuple(dict.fromkeys(rnodes[t.node_id] for t in targets_of(board, pin)))  # type: ignore[index]
                if pin.name == ON_ERROR_FLAG:
                    rnode.error_flag = pin.id
                    rnode.error_targets = targets
                else:
                    exec_outs.append((pin.id, targets))
            rnode.exec_outs = tuple(exec_outs)
            data_sources[node.id] = feeders
            self.outputs_of[node.id] = outputs
            rnode.ctx = NodeContext(self, rnode, inputs, outputs)
        for rnode in rnodes.values():
            if not rnode.pure and data_sources[rnode.id]:
                rnode.pure_deps = self._pure_deps(rnode.id, rnodes, data_sources)
        return rnodes

    @staticmethod
    def _pure_deps(node_id: str, rnodes: dict[str, _RNode], data_sources: dict[str, list[str]]) -> tuple[_RNode, ...]:
        """Pure nodes upstream of ``node_id``'s data inputs, dependencies first (iterative DFS)."""

        def pure_sources(nid: str) -> Iterator[str]:
            return (source for source in data_sources[nid] if rnodes[source].pure)

        order: list[_RNode] = []
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
                    order.append(rnodes[nid])
        return tuple(order)

    # -- services used by nodes -----------------------------------------------------------
    def emit(self, kind: str, rnode: _RNode | None, **fields: Any) -> None:
        if self.on_event is not None:
            self.on_event(EngineEvent(kind, rnode.id if rnode else None, rnode.name if rnode else None,
                                      time.time(), **fields))

    def log(self, rnode: _RNode, level: str, message: str) -> None:
        if self.on_event is not None and ev.LEVEL_RANK.get(level, 0) >= self.min_log_rank:
            self.emit(ev.LOG, rnode, level=level, message=message)

    def set_result(self, rnode: _RNode, value: Any) -> None:
        # Callers answer with the first result event, so the first value is the run's result.
        if not self.has_result:
            self.result = value
            self.has_result = True
        self.emit(ev.RESULT, rnode, data=value)

    def sleep(self, seconds: float) -> None:
        remaining = self._deadline_at - time.monotonic()
        if self.cancel.wait(max(0.0, min(seconds, remaining))):
            raise _Stop("cancelled", "cancelled", "the run was cancelled")
        if seconds > remaining:
            raise _Stop("failed", "deadline", f"deadline of {self.limits.deadline_seconds} s exceeded")

    # -- scheduling -----------------------------------------------------------------------
    def _stop_reason(self) -> _Stop | None:
        if self.steps > self.limits.max_steps:
            return _Stop("failed", "step_limit", f"step limit of {self.limits.max_steps} exceeded")
        if self._is_cancelled():
            return _Stop("cancelled", "cancelled", "the run was cancelled")
        if time.monotonic() > self._deadline_at:
            return _Stop("failed", "deadline", f"deadline of {self.limits.deadline_seconds} s exceeded")
        return None

    def _tick(self) -> None:
        """Count a step and stop the run if a limit is hit or it was cancelled.

        The clock is read every 32 steps only: it is the costliest check and a step is short
        (nodes that wait, like delay, watch the deadline themselves).
        """
        steps = self.steps = self.steps + 1
        if steps > self._max_steps or self._is_cancelled() or (not steps & 31 and time.monotonic() > self._deadline_at):
            stop = self._stop_reason()
            if stop is not None:
                raise stop

    def run_pure(self, rnode: _RNode) -> None:
        self._tick()
        on_event = self.on_event
        if on_event is None:
            try:
                rnode.fn(rnode.ctx)
            except _Stop:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure inside a node is that node's failure
                raise _PureFailure(rnode, _message(exc)) from None
            return
        started = time.perf_counter()
        self.emit(ev.NODE_START, rnode)
        try:
            rnode.fn(rnode.ctx)
        except _Stop:
            raise
        except Exception as exc:  # noqa: BLE001
            message = _message(exc)
            self._end_event(rnode, started, False, message)
            raise _PureFailure(rnode, message) from None
        self._end_event(rnode, started, True, None)

    def _end_event(self, rnode: _RNode, started: float, ok: bool, message: str | None) -> None:
        self.emit(ev.NODE_END, rnode, ok=ok, message=message,
                  duration_ms=round((time.perf_counter() - started) * 1000.0, 3))

    def _succeeded(self, rnode: _RNode, chain: _Chain, started: float) -> None:
        if self.on_event is not None:
            self._end_event(rnode, started, True, None)
        values = self.values
        for pin_id, targets in rnode.exec_outs:
            if values.get(pin_id) is True:
                chain.next.extend(targets)

    def _failed(self, rnode: _RNode, chain: _Chain, exc: BaseException, started: float) -> None:
        message = _message(exc)
        culprit = exc.node if isinstance(exc, _PureFailure) else rnode
        if self.on_event is not None:
            self._end_event(rnode, started, False, message)
        self.log(culprit, "Error", message)
        if rnode.error_flag is not None:
            self.values[rnode.error_flag] = True
            if rnode.error_text is not None:
                self.values[rnode.error_text] = message
        # As in Flow-Like, inside a body only the body's first nodes get their handler chain run.
        if rnode.error_targets and (not chain.body or chain.first):
            chain.next.extend(rnode.error_targets)
        elif self.failure is None:
            self.failure = {"node_id": culprit.id, "node_name": culprit.name, "message": message}

    def _start(self, rnode: _RNode, chain: _Chain, stack: list[Any]) -> None:
        self._tick()
        started = 0.0
        if self.on_event is not None:
            started = time.perf_counter()
            self.emit(ev.NODE_START, rnode)
        try:
            for dep in rnode.pure_deps:
                self.run_pure(dep)
            body = rnode.fn(rnode.ctx)
        except _Stop:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure inside a node is that node's failure
            self._failed(rnode, chain, exc, started)
            return
        if body is not None:
            stack.append(_Body(body, rnode, chain, started))
        elif self.on_event is not None:
            self._succeeded(rnode, chain, started)
        else:
            # Hot path of _succeeded without events, inlined: it runs once per scheduled node.
            values = self.values
            for pin_id, targets in rnode.exec_outs:
                if values.get(pin_id) is True:
                    chain.next.extend(targets)

    def execute(self) -> RunResult:
        stack: list[Any] = [_Chain([self.nodes[self.start_id]], body=False)]
        start = self._start
        try:
            while stack:
                top = stack[-1]
                if type(top) is _Chain:
                    pos = top.pos
                    if pos >= len(top.wave):
                        wave = top.next
                        if not wave:
                            stack.pop()
                            continue
                        # A node reached several times within one wave runs once.
                        top.wave = list(dict.fromkeys(wave)) if len(wave) > 1 else wave
                        top.next = []
                        top.first = False
                        pos = 0
                    top.pos = pos + 1
                    start(top.wave[pos], top, stack)
                else:
                    try:
                        request = next(top.gen)
                    except StopIteration:
                        stack.pop()
                        self._succeeded(top.node, top.chain, top.started)
                    except _Stop:
                        raise
                    except Exception as exc:  # noqa: BLE001
                        stack.pop()
                        self._failed(top.node, top.chain, exc, top.started)
                    else:
                        stack.append(_Chain(list(request), body=True))
        except _Stop as stop:
            return self._finish(stop.status, stop.reason, {"node_id": None, "node_name": None, "message": str(stop)})
        if self.failure is not None:
            return self._finish("failed", "node_error", self.failure)
        return self._finish("completed", None, None)

    def _finish(self, status: str, reason: str | None, error: dict[str, Any] | None) -> RunResult:
        duration = round((time.monotonic() - self._began) * 1000.0, 3)
        return RunResult(status, reason, self.result if self.has_result else None, error, self.steps, duration)


def _message(exc: BaseException) -> str:
    if isinstance(exc, NodeError):
        return str(exc)
    # Not a deliberate node failure: still the node's failure, named so it can be reported.
    return f"internal error in node: {type(exc).__name__}: {exc}"


def _initial_variables(board: Board, overrides: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    values = {vid: (None if v.default is MISSING else v.default) for vid, v in board.variables.items()}
    by_name: dict[str, list[str]] = {}
    for vid, variable in board.variables.items():
        by_name.setdefault(variable.name, []).append(vid)
    problems = []
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
              on_event: EventSink | None = None, egress: EgressPolicy | None = None) -> RunResult:
    """Validate ``board`` and run it from ``start_node_id``. Never raises for board content."""
    began = time.monotonic()

    def early(reason: str, error: dict[str, Any]) -> RunResult:
        return RunResult("failed", reason, None, error, 0, round((time.monotonic() - began) * 1000.0, 3))

    problems = validate_board(board)
    initial, override_problems = _initial_variables(board, variables or {})
    problems += override_problems
    if problems:
        return early("invalid_board", {"problems": [p.to_dict() for p in problems]})
    if start_node_id not in board.nodes:
        return early("unknown_start_node", {"node_id": start_node_id, "node_name": None,
                                            "message": f"no node with id '{start_node_id}' on this board"})
    run = _Run(board, start_node_id, payload, initial, limits or RunLimits(), cancel or CancelToken(), on_event,
               egress or EgressPolicy(), began)
    return run.execute()
