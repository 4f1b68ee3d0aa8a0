"""Log lines, on-screen toasts and progress indicators."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ...coerce import as_bool, as_int, as_str
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _log_pins(what: str) -> list:
    return [inp("exec_in", "Input", "Execution", description="Write the line."),
            inp("message", "Message", "Generic", default="", description=f"The {what} text, or any JSON value."),
            inp("toast", "On Screen?", "Boolean", default=False, description="Also show it as a toast."),
            out("exec_out", "Output", "Execution", description="Fires after writing.")]


def _write(ctx: NodeContext, level: str, toast_level: str) -> None:
    # Read 'toast' before 'message' as the reference does, so the failure order matches.
    toast = as_bool(ctx.get("toast"), "toast")
    text = _text(ctx.get("message"))
    if toast:
        ctx.toast(text, toast_level)
    ctx.log(level, text)
    ctx.activate("exec_out")


@register("log_info", "Print Info", "Logging", "Writes an informational line to the run's log.", _log_pins("information"))
def log_info(ctx: NodeContext) -> None:
    _write(ctx, "Info", "info")


@register("log_warning", "Log Warning", "Logging", "Writes a warning line to the run's log.", _log_pins("warning"))
def log_warning(ctx: NodeContext) -> None:
    _write(ctx, "Warn", "warning")


@register("log_error", "Log Error", "Logging",
          "Writes an error line to the run's log; the run itself carries on.", _log_pins("error"))
def log_error(ctx: NodeContext) -> None:
    _write(ctx, "Error", "error")


@register("log_progress", "Show Progress", "Logging", "Shows or updates a progress indicator identified by an id.",
          [inp("exec_in", "Input", "Execution", description="Report progress."),
           inp("id", "Progress ID", "String", default="progress-1", description="Which indicator to update."),
           inp("message", "Message", "String", default="Processing...", description="Text shown with it."),
           inp("progress", "Progress %", "Integer", default=0, description="Percent done; negative means unknown."),
           out("exec_out", "Output", "Execution", description="Fires after reporting.")])
def log_progress(ctx: NodeContext) -> None:
    payload: dict[str, Any] = {"id": as_str(ctx.get("id"), "id"), "message": as_str(ctx.get("message"), "message")}
    percent = as_int(ctx.get("progress"), "progress")
    if percent >= 0:
        payload["progress"] = min(percent, 100)
    payload.update(done=False, success=False)
    ctx.progress(payload)
    ctx.log("Debug", f"progress {payload['id']}: {payload['message']}")
    ctx.activate("exec_out")


@register("log_progress_done", "Progress Done", "Logging", "Marks a progress indicator as finished.",
          [inp("exec_in", "Input", "Execution", description="Finish the indicator."),
           inp("id", "Progress ID", "String", default="progress-1", description="Which indicator to finish."),
           inp("message", "Message", "String", default="Done!", description="Final text."),
           inp("success", "Success?", "Boolean", default=True, description="Whether the work succeeded."),
           out("exec_out", "Output", "Execution", description="Fires after reporting.")])
def log_progress_done(ctx: NodeContext) -> None:
    success = as_bool(ctx.get("success"), "success")
    payload: dict[str, Any] = {"id": as_str(ctx.get("id"), "id"), "message": as_str(ctx.get("message"), "message")}
    if success:
        payload["progress"] = 100
    payload.update(done=True, success=success)
    ctx.progress(payload)
    ctx.log("Debug", f"progress {payload['id']} done: {payload['message']}")
    ctx.activate("exec_out")
