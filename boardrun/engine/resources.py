"""Per-run registry of open connections (sockets, mail sessions, MQTT clients).

Connection-holding nodes cannot put a live socket on a pin: pins carry JSON. Like Flow-Like's run
cache, such a node stores the object here and puts a small reference struct (``ref_id`` plus
harmless facts) on its output; later nodes look the object up by that id. The registry belongs to
one run, so a reference is useless outside it, and the runtime closes everything still registered
when the run ends, whatever the outcome (completed, failed, cancelled, deadline).
"""

from __future__ import annotations

import uuid
from typing import Any, Callable, Hashable

from .errors import NodeError


class RunResources:
    """Open resources of one run, keyed by an unguessable id; closed in reverse order at the end."""

    __slots__ = ("_items", "_reuse")

    def __init__(self) -> None:
        self._items: dict[str, tuple[str, Any, Callable[[Any], None]]] = {}
        self._reuse: dict[Hashable, str] = {}

    def add(self, kind: str, obj: Any, close: Callable[[Any], None], reuse_key: Hashable | None = None) -> str:
        """Register ``obj``; ``close(obj)`` runs when it is released or the run ends. Returns its id.

        ``reuse_key`` lets a node find an equivalent open resource again (the mail connect nodes
        reuse a session opened with the same settings, as Flow-Like does). The key stays in memory
        only; it never reaches a pin.
        """
        ref_id = f"{kind}_{uuid.uuid4().hex}"
        self._items[ref_id] = (kind, obj, close)
        if reuse_key is not None:
            self._reuse[(kind, reuse_key)] = ref_id
        return ref_id

    def find(self, kind: str, reuse_key: Hashable) -> str | None:
        ref_id = self._reuse.get((kind, reuse_key))
        return ref_id if ref_id in self._items else None

    def get(self, kind: str, ref: Any, key: str = "ref_id") -> Any:
        """The open resource a reference struct (its ``key`` field) points to; NodeError when there is none."""
        ref_id = ref.get(key) if isinstance(ref, dict) else None
        if not isinstance(ref_id, str) or not ref_id:
            raise NodeError(f"not a {kind} reference: expected an object with a '{key}' string")
        item = self._items.get(ref_id)
        if item is None or item[0] != kind:
            raise NodeError(f"no open {kind} connection with id '{ref_id}' in this run (closed, or from another run)")
        return item[1]

    def release(self, ref_id: str, kind: str | None = None) -> bool:
        """Close and forget one resource (of ``kind``, when given); False when there is no such one."""
        item = self._items.get(ref_id)
        if item is None or (kind is not None and item[0] != kind):
            return False
        del self._items[ref_id]
        self._reuse = {k: v for k, v in self._reuse.items() if v != ref_id}
        _close_quietly(item)
        return True

    def close_all(self) -> None:
        """Close every resource, newest first. Closing errors are swallowed: the run is over."""
        while self._items:
            _ref_id, item = self._items.popitem()
            _close_quietly(item)
        self._reuse.clear()

    def __contains__(self, ref_id: object) -> bool:
        return ref_id in self._items

    def __len__(self) -> int:
        return len(self._items)


def _close_quietly(item: tuple[str, Any, Callable[[Any], None]]) -> None:
    _kind, obj, close = item
    try:
        close(obj)
    except Exception:  # noqa: BLE001 - a peer that vanished must not turn a finished run into a crash
        pass
