"""Run limits and cooperative cancellation."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class RunLimits:
    """Bounds that stop a run which would otherwise go on for too long.

    ``max_steps`` counts every node evaluation, pure ones included. ``max_loop_iterations``
    caps a single for-each or while-loop execution; exceeding it fails that node.
    ``max_string_length`` (characters) and ``max_array_length`` (elements) cap the strings and
    arrays that string and collection nodes build, so a board cannot exhaust memory by, say,
    replacing every character of a long text with a long text or doubling an array in a loop.
    """

    max_steps: int = 1_000_000
    deadline_seconds: float = 300.0
    max_loop_iterations: int = 100_000
    max_string_length: int = 16 * 1024 * 1024
    max_array_length: int = 10_000_000


class CancelToken:
    """Thread-safe cancellation flag that the engine checks between steps and while waiting."""

    __slots__ = ("_event", "_flag")

    def __init__(self) -> None:
        self._event = threading.Event()
        self._flag = False  # mirrors the event; a plain attribute is what the scheduler reads per step

    def cancel(self) -> None:
        self._flag = True
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until cancelled or until ``timeout`` seconds pass; True means cancelled."""
        return self._event.wait(timeout)
