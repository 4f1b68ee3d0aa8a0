"""Notifications for users, emitted as ``notification`` run events.

Flow-Like streams these to the client that started the run (the desktop app shows them, as an
OS notification too when asked). A server has no desktop: the event carries the same fields
(including ``show_desktop``) for whoever consumes the run's events; the executor records it in
the job log and its progress reports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...coerce import as_bool, as_str
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


def _content_pins() -> list[Any]:
    return [inp("title", "Title", "String", default="Notification", description="The headline."),
            inp("description", "Description", "String", default="", description="Body text; empty for none."),
            inp("icon", "Icon", "String", default="", description="Icon URL or name; empty for none."),
            inp("link", "Link", "String", default="", description="Where a click leads; empty for none.")]


OUTPUTS = [out("exec_out", "Output", "Execution", description="Fires after sending."),
           out("success", "Success", "Boolean", description="Whether a notification was sent.")]


def _notification(ctx: NodeContext, show_desktop: bool, target_user: str | None) -> dict[str, Any]:
    notification: dict[str, Any] = {"title": as_str(ctx.get("title"), "title")}
    for name in ("description", "icon", "link"):
        value = as_str(ctx.get(name), name)
        if value:
            notification[name] = value
    notification["show_desktop"] = show_desktop
    if target_user:
        notification["target_user_sub"] = target_user
    notification["source_node_id"] = ctx.node_id
    return notification


@register("notify_user", "Notify User", "Notifications",
          "Sends a notification to the user the run is for (as a 'notification' run event).",
          [inp("exec_in", "Input", "Execution", description="Send it."),
           *_content_pins(),
           inp("show_desktop", "Desktop Notification", "Boolean", default=True,
               description="Ask the client to also show it as an operating-system notification."),
           *OUTPUTS])
def notify_user(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    show_desktop = as_bool(ctx.get("show_desktop"), "show_desktop")
    ctx.notify(_notification(ctx, show_desktop, None))
    ctx.log("Info", "Notification sent")
    ctx.set("success", True)
    ctx.activate("exec_out")


@register("notify_project_user", "Notify Project User", "Notifications",
          "Sends a notification meant for one member of the project, named by user id.",
          [inp("exec_in", "Input", "Execution", description="Send it."),
           inp("user_sub", "User ID", "String", default="", description="The member's user id (sub); required."),
           *_content_pins(),
           *OUTPUTS])
def notify_project_user(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    user = as_str(ctx.get("user_sub"), "user_sub").strip()
    if not user:
        # As in Flow-Like: no recipient is reported on 'Success', not as a node failure.
        ctx.log("Error", "input 'user_sub' is empty: no notification sent")
        ctx.set("success", False)
        ctx.activate("exec_out")
        return
    notification = _notification(ctx, False, user)
    ctx.notify(notification)
    ctx.log("Info", f"Notification sent to user {user}")
    ctx.set("success", True)
    ctx.activate("exec_out")
