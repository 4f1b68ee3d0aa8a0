"""Wiring helpers shared by validation and the runtime.

Connections may pass through relay pins owned by layers (pins with no node). These helpers
follow such pins in both directions so callers only ever see node pins at either end.
"""

from __future__ import annotations

from .model import Board, Node, Pin


def _follow(board: Board, start_ids: tuple[str, ...], forward: bool) -> list[Pin]:
    pins = board.pins
    direct = [pins.get(pin_id) for pin_id in start_ids]
    # Fast path: no relay pins and no dangling ids (by far the common case).
    if all(pin is not None and pin.node_id is not None for pin in direct):
        return direct  # type: ignore[return-value]
    found: list[Pin] = []
    seen: set[str] = set()
    pending = list(reversed(start_ids))
    while pending:
        pin_id = pending.pop()
        if pin_id in seen:
            continue
        seen.add(pin_id)
        pin = board.pins.get(pin_id)
        if pin is None:
            continue  # dangling; reported by validation
        if pin.node_id is None:
            pending.extend(reversed(pin.connected_to if forward else pin.depends_on))
        else:
            found.append(pin)
    return found


def targets_of(board: Board, pin: Pin) -> list[Pin]:
    """Node pins fed by output ``pin``, relays resolved."""
    return _follow(board, pin.connected_to, forward=True)


def sources_of(board: Board, pin: Pin) -> list[Pin]:
    """Node pins that input ``pin`` reads from, relays resolved; the first one is the one used."""
    return _follow(board, pin.depends_on, forward=False)


def is_pure(node: Node) -> bool:
    """A node without any Execution pin is evaluated on demand instead of being scheduled."""
    return all(p.data_type != "Execution" for p in node.pins.values())
