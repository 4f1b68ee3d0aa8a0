"""Utils/DateTime: reading the clock."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


@register("utils_datetime_now", "Now", "Utils/DateTime", "Reads the current UTC time as an RFC 3339 string.",
          [inp("exec_in", "Input", "Execution", description="Read the clock."),
           out("exec_out", "Output", "Execution", description="Fires after reading."),
           out("date", "Date", "Date", description="The current time, e.g. 2026-01-02T03:04:05.123456Z.")])
def utils_datetime_now(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    ctx.set("date", datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    ctx.activate("exec_out")
