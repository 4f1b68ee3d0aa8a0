"""Observable run events: node start/end, log lines, progress, toasts, notifications, results and chat updates."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Callable

# Flow-Like's log levels, lowest first; the position is the severity.
LOG_LEVELS: tuple[str, ...] = ("Debug", "Info", "Warn", "Error", "Fatal")
LEVEL_RANK: dict[str, int] = {name: rank for rank, name in enumerate(LOG_LEVELS)}

NODE_START = "node_start"
NODE_END = "node_end"
LOG = "log"
PROGRESS = "progress"
TOAST = "toast"
NOTIFICATION = "notification"
RESULT = "result"
CHAT = "chat"  # data: one chat update ({"kind": "response" | "chunk" | "step" | ...})


@dataclass(frozen=True, slots=True)
class EngineEvent:
    """One thing that happened during a run. Fields that do not apply are None."""

    kind: str
    node_id: str | None = None
    node_name: str | None = None
    time: float | None = None
    level: str | None = None
    message: str | None = None
    ok: bool | None = None
    duration_ms: float | None = None
    data: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


EventSink = Callable[[EngineEvent], None]
