"""Utils/User: who the run executes for.

The executing user is the one who submitted the job; the job service snapshots their role on
the app when the job is submitted and hands it to ``run_board(user=...)`` in Flow-Like's
UserExecutionContext shape: ``{"sub", "role": {"id", "name", "permissions", "attributes",
"customAttributes"}, "isTechnicalUser", "keyId"}``. Runs without a user (command line,
embedded) make the nodes that need one fail clearly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ....apps.permissions import Permission, effective
from ...coerce import as_str
from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext

# Flow-Like's permission names (the pin's choices) -> Boardrun's bits, which have the same values.
PERMISSIONS = {
    "Owner": Permission.Owner, "Admin": Permission.Admin, "Read Team": Permission.ReadTeam,
    "Read Roles": Permission.ReadRoles, "Read Files": Permission.ReadFiles, "Write Files": Permission.WriteFiles,
    "Invoke API": Permission.InvokeApi, "Write Meta": Permission.WriteMeta, "Read Boards": Permission.ReadBoards,
    "Execute Boards": Permission.ExecuteBoards, "Write Boards": Permission.WriteBoards,
    "List Events": Permission.ListEvents, "Read Events": Permission.ReadEvents,
    "Execute Events": Permission.ExecuteEvents, "Write Events": Permission.WriteEvents,
    "Read Logs": Permission.ReadLogs, "Read Analytics": Permission.ReadAnalytics,
    "Read Config": Permission.ReadConfig, "Write Config": Permission.WriteConfig,
    "Read Templates": Permission.ReadTemplates, "Write Templates": Permission.WriteTemplates,
    "Read Courses": Permission.ReadCourses, "Write Courses": Permission.WriteCourses,
    "Read Widgets": Permission.ReadWidgets, "Write Widgets": Permission.WriteWidgets,
    "Write Routes": Permission.WriteRoutes,
}


def _user(ctx: NodeContext) -> dict[str, Any]:
    user = ctx.user
    if user is None:
        raise NodeError("this run has no executing user: only runs of jobs submitted by a user have one")
    return user


def _role(ctx: NodeContext) -> dict[str, Any]:
    role = _user(ctx).get("role")
    return role if isinstance(role, dict) else {}


@register("utils_user_get_executing_user", "Get Executing User", "Utils/User",
          "The user the run executes for (who submitted the job), with their role on the app.",
          [out("user_context", "User Context", "Struct", options={"enforce_schema": True},
               schema="UserExecutionContext", description="The user and role, or null without a user."),
           out("has_user", "Has User", "Boolean", description="Whether the run has an executing user.")])
def utils_user_get_executing_user(ctx: NodeContext) -> None:
    # 'Has User' exists to tell runs without a user apart, so this one node does not fail on them.
    ctx.set("user_context", ctx.user)
    ctx.set("has_user", ctx.user is not None)


@register("utils_user_has_attribute", "Has Attribute", "Utils/User",
          "Whether the executing user's role carries an attribute.",
          [inp("attribute", "Attribute", "String", default="", description="The attribute to look for."),
           out("has_attribute", "Has Attribute", "Boolean", description="Whether the role has it.")])
def utils_user_has_attribute(ctx: NodeContext) -> None:
    attribute = as_str(ctx.get("attribute"), "attribute")
    attributes = _role(ctx).get("attributes") or []
    ctx.set("has_attribute", attribute in attributes)


@register("utils_user_has_permission", "Has Permission", "Utils/User",
          "Whether the executing user's role on the app grants a permission (Owner and Admin imply others).",
          [inp("permission", "Permission", "String", default="Read Boards", options={"valid_values": None},
               description="A permission name such as 'Execute Boards'."),
           out("has_permission", "Has Permission", "Boolean", description="Whether it is granted.")])
def utils_user_has_permission(ctx: NodeContext) -> None:
    name = as_str(ctx.get("permission"), "permission")
    needed = PERMISSIONS.get(name)
    if needed is None:
        raise NodeError(f"unknown permission '{name}'; expected one of: {', '.join(PERMISSIONS)}")
    bits = _role(ctx).get("permissions", 0)
    granted = effective(bits if isinstance(bits, int) and not isinstance(bits, bool) else 0)
    ctx.set("has_permission", bool(granted & needed))


@register("utils_user_is_technical_user", "Is Technical User", "Utils/User",
          "Whether the run executes for a technical user (an API key) rather than a person, and its key id.",
          [out("is_technical", "Is Technical User", "Boolean", description="True for an API key."),
           out("key_id", "Key ID", "String", description="The API key's id, or an empty string.")])
def utils_user_is_technical_user(ctx: NodeContext) -> None:
    user = _user(ctx)
    ctx.set("is_technical", user.get("isTechnicalUser") is True)
    key_id = user.get("keyId")
    ctx.set("key_id", key_id if isinstance(key_id, str) else "")
