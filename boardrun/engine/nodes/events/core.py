"""Events: the entry nodes a run starts at."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...errors import NodeError
from ...model import MISSING
from ...registry import out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


def _squash(key: str) -> str:
    return key.lower().replace("_", "")


@register("events_simple", "Simple Event", "Events", "Entry point without input: starts the flow when the run begins here.",
          [out("exec_out", "Output", "Execution", description="Fires when the run starts.")],
          start=True, can_be_referenced_by_fns=True)
def events_simple(ctx: NodeContext) -> None:
    ctx.activate("exec_out")


@register("events_generic", "Generic Event", "Events",
          "Entry point that receives the run's JSON payload; extra outputs added in the editor pick fields out of it.",
          [out("exec_out", "Exec Out", "Execution", description="Fires once the payload has been read."),
           out("payload", "Payload", "Struct", description="The payload, minus fields taken by extra outputs.")],
          start=True, can_be_referenced_by_fns=True, extra_outputs=True)
def events_generic(ctx: NodeContext) -> None:
    if ctx.delegated:  # called by a Call Reference, which has set the outputs already
        _fire(ctx)
        return
    payload = ctx.payload
    if payload is MISSING or payload is None:
        raise NodeError("this event needs a payload, but the run was started without one")
    if isinstance(payload, dict):
        rest = dict(payload)
        for name, data_type in ctx.output_pins():
            if name == "payload" or data_type == "Execution" or name in ("auto_handle_error", "auto_handle_error_string"):
                continue
            key = name if name in rest else next((k for k in rest if _squash(k) == _squash(name)), None)
            if key is not None:
                ctx.set(name, rest.pop(key))
        ctx.set("payload", rest)
    else:
        ctx.set("payload", payload)
    _fire(ctx)


def _fire(ctx: NodeContext) -> None:
    for name, data_type in ctx.output_pins():
        if data_type == "Execution" and name != "auto_handle_error":
            ctx.activate(name)


def _chat_payload(payload: Any) -> dict[str, Any]:
    """Flow-Like's Chat payload, checked: messages (required), sessions, tools, actions, attachments, user."""
    if not isinstance(payload, dict) or not isinstance(payload.get("messages"), list):
        raise NodeError("a chat run needs a payload with a 'messages' list (Flow-Like's Chat)")
    for key, kind in (("tools", list), ("actions", list), ("attachments", list), ("user", dict),
                      ("local_session", dict), ("global_session", dict)):
        if payload.get(key) is not None and not isinstance(payload[key], kind):
            raise NodeError(f"chat payload: '{key}' must be {'an array' if kind is list else 'an object'}")
    if not all(isinstance(tool, str) for tool in payload.get("tools") or []):
        raise NodeError("chat payload: 'tools' must be an array of strings")
    return payload


@register("events_chat", "Chat Event", "Events",
          "Entry point of a chat: the run's payload is the conversation; push nodes answer the caller.",
          [out("exec_out", "Output", "Execution", description="Fires with the conversation read."),
           out("history", "History", "Struct", options={"enforce_schema": True},
               description="The conversation so far as a History."),
           out("local_session", "Local Session", "Struct", description="State kept for this chat."),
           out("global_session", "Global Session", "Struct", description="State kept across the user's chats."),
           out("tools", "Tools", "String", "Array", description="Tools the user enabled."),
           out("actions", "Actions", "Struct", "Array", options={"enforce_schema": True},
               description="Actions the user can take."),
           out("attachments", "Attachments", "Struct", "Array", options={"enforce_schema": True},
               description="Files attached to the message."),
           out("user", "User", "Struct", options={"enforce_schema": True}, description="Who is chatting.")],
          start=True, can_be_referenced_by_fns=True)
def events_chat(ctx: NodeContext) -> None:
    from ...ai import shapes
    from .chat import chat_state

    payload = ctx.payload
    if payload is MISSING or payload is None:
        raise NodeError("a chat run needs a payload with a 'messages' list (Flow-Like's Chat)")
    chat = _chat_payload(payload)
    history = shapes.history(shapes.new_history("", chat["messages"]), "payload")
    ctx.set("history", history)
    ctx.set("local_session", chat.get("local_session") or {})
    ctx.set("global_session", chat.get("global_session") or {})
    ctx.set("tools", chat.get("tools") or [])
    ctx.set("actions", chat.get("actions") or [])
    ctx.set("attachments", chat.get("attachments") or [])
    ctx.set("user", chat.get("user") or {"sub": "", "name": "", "bot": None})
    # What the push nodes gather is the run's answer unless a node returns another.
    ctx.set_default_result(chat_state(ctx)["response"])
    ctx.activate("exec_out")
