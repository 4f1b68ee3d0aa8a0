"""Events/Chat: pushing answers, chunks, reasoning steps, sessions and attachments to the caller of a
chat run.

Each push emits a ``chat`` engine event whose ``data`` is ``{"type": ..., "payload": ...}`` with
Flow-Like's event types (``chat_stream`` for a whole response, ``chat_stream_partial`` for chunks,
steps and attachments, ``chat_local_session`` / ``chat_global_session``). The pushed state is also
gathered in the run's chat response (Flow-Like's ChatResponse), which is the run's result when no
node returns another.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from ...ai import shapes
from ...coerce import as_int, as_list, as_str
from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext

_STATE = "chat"


def chat_state(ctx: NodeContext) -> dict[str, Any]:
    """This run's chat response and reasoning plan, created on first use."""
    state = ctx.run_state.get(_STATE)
    if state is None:
        state = ctx.run_state[_STATE] = {
            "response": {"response": shapes.new_response(), "local_session": None, "global_session": None,
                         "actions": [], "attachments": []},
            "reasoning": {"plan": [], "current_step": 0, "current_message": ""},
        }
    return state


def _push(ctx: NodeContext, kind: str, payload: Any) -> None:
    ctx.chat({"type": kind, "payload": copy.deepcopy(payload)})


def _partial(ctx: NodeContext, *, chunk: Any = None, attachments: list[Any] | None = None, plan: bool = False) -> None:
    reasoning = chat_state(ctx)["reasoning"] if plan else None
    _push(ctx, "chat_stream_partial", {"chunk": chunk, "actions": [], "attachments": attachments or [],
                                       "plan": reasoning})


def _exec_pins(*inputs: Any) -> list[Any]:
    return [inp("exec_in", "Input", "Execution", description="Push."), *inputs,
            out("exec_out", "Output", "Execution", description="Fires once pushed.")]


@register("events_chat_push_response", "Push Response", "Events/Chat",
          "Sends a whole response to the chat's caller; it replaces the response gathered so far.",
          _exec_pins(inp("response", "Response", "Struct", options={"enforce_schema": True},
                         description="The response to show.")), event_callback=True)
def events_chat_push_response(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    response = shapes.check_response(ctx.get("response"))
    gathered = chat_state(ctx)["response"]
    gathered["response"] = response
    _push(ctx, "chat_stream", gathered)
    ctx.activate("exec_out")


@register("events_chat_push_response_chunk", "Push Chunk", "Events/Chat",
          "Streams one chunk of the answer to the chat's caller and folds it into the gathered response.",
          _exec_pins(inp("chunk", "Chunk", "Struct", options={"enforce_schema": True}, description="The chunk.")), event_callback=True)
def events_chat_push_response_chunk(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    chunk = copy.deepcopy(shapes.check_chunk(ctx.get("chunk")))
    state = chat_state(ctx)
    shapes.push_chunk(state["response"]["response"], chunk)
    choices = chunk.get("choices") or []
    delta = choices[0].get("delta") if choices else None
    reasoning = delta.get("reasoning") if isinstance(delta, dict) else None
    plan = isinstance(reasoning, str)
    if plan:  # streamed reasoning goes into a "Thinking" step, as in Flow-Like
        steps = state["reasoning"]
        if not steps["plan"]:
            steps["plan"].append([0, "Thinking"])
        _append_line(steps, reasoning, "\n")
    _partial(ctx, chunk=chunk, plan=plan)
    ctx.activate("exec_out")


def _append_line(reasoning: dict[str, Any], text: str, separator: str) -> None:
    if reasoning["current_message"]:
        reasoning["current_message"] += separator
    reasoning["current_message"] += text


@register("events_chat_push_step", "Push Step", "Events/Chat",
          "Starts a new step of the visible plan ('title: description') and sends the plan.",
          [inp("exec_in", "Input", "Execution", description="Push."),
           inp("title", "Title", "String", description="The step's title."),
           inp("description", "Description", "String", description="What the step does."),
           out("exec_out", "Output", "Execution", description="Fires once pushed."),
           out("step_id", "Step ID", "Integer", description="The new step's id, for Remove Step.")],
          event_callback=True)
def events_chat_push_step(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    title = as_str(ctx.get("title"), "title")
    description = as_str(ctx.get("description"), "description")
    reasoning = chat_state(ctx)["reasoning"]
    reasoning["current_step"] += 1
    step_id = reasoning["current_step"]
    reasoning["plan"].append([step_id, f"{title}: {description}"])
    reasoning["current_message"] = ""
    _partial(ctx, plan=True)
    ctx.set("step_id", step_id)
    ctx.activate("exec_out")


@register("events_chat_push_text_to_step", "Push Text to Step", "Events/Chat",
          "Adds text to the current step's message and sends the plan.",
          _exec_pins(inp("text", "Text", "String", description="The text to add.")), event_callback=True)
def events_chat_push_text_to_step(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    _append_line(chat_state(ctx)["reasoning"], as_str(ctx.get("text"), "text"), " ")
    _partial(ctx, plan=True)
    ctx.activate("exec_out")


@register("events_chat_push_reasoning", "Push Reasoning", "Events/Chat",
          "Adds a line of reasoning to the current step's message and sends the plan.",
          _exec_pins(inp("reasoning", "Reasoning", "String", description="The reasoning text.")), event_callback=True)
def events_chat_push_reasoning(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    _append_line(chat_state(ctx)["reasoning"], as_str(ctx.get("reasoning"), "reasoning"), "\n")
    _partial(ctx, plan=True)
    ctx.activate("exec_out")


@register("events_chat_remove_step", "Remove Step", "Events/Chat", "Removes a step from the plan and sends the plan.",
          _exec_pins(inp("step_id", "Step ID", "Integer", description="The id Push Step gave.")), event_callback=True)
def events_chat_remove_step(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    step_id = as_int(ctx.get("step_id"), "step_id")
    if step_id < 0:
        raise NodeError(f"input 'step_id' must not be negative, got {step_id}")
    reasoning = chat_state(ctx)["reasoning"]
    reasoning["plan"] = [step for step in reasoning["plan"] if step[0] != step_id]
    _partial(ctx, plan=True)
    ctx.activate("exec_out")


def _session(ctx: NodeContext, pin: str, kind: str) -> None:
    ctx.deactivate("exec_out")
    session = ctx.get(pin)
    if not isinstance(session, dict):
        raise NodeError(f"input '{pin}' must be an object")
    chat_state(ctx)["response"][pin] = copy.deepcopy(session)
    _push(ctx, kind, session)
    ctx.activate("exec_out")


@register("events_chat_push_local_session", "Push Local Session", "Events/Chat",
          "Sends the state to keep for this chat; the caller hands it back with the next message.",
          _exec_pins(inp("local_session", "Local Session", "Struct", default={}, description="The state.")), event_callback=True)
def events_chat_push_local_session(ctx: NodeContext) -> None:
    _session(ctx, "local_session", "chat_local_session")


@register("events_chat_push_global_session", "Push Global Session", "Events/Chat",
          "Sends the state to keep across the user's chats.",
          _exec_pins(inp("global_session", "Global Session", "Struct", default={}, description="The state.")), event_callback=True)
def events_chat_push_global_session(ctx: NodeContext) -> None:
    _session(ctx, "global_session", "chat_global_session")


def _attachment(value: Any, where: str) -> Any:
    # Flow-Like's Attachment: a URL string, or an object with at least a 'url'.
    if isinstance(value, str) or (isinstance(value, dict) and isinstance(value.get("url"), str)):
        return copy.deepcopy(value)
    raise NodeError(f"{where} must be a URL or an object with a 'url'")


@register("events_chat_push_attachment", "Push Attachment", "Events/Chat", "Sends one attachment to the chat's caller.",
          _exec_pins(inp("attachment", "Attachment", "Struct", options={"enforce_schema": True},
                         description="A URL or an attachment object.")), event_callback=True)
def events_chat_push_attachment(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    attachment = _attachment(ctx.get("attachment"), "input 'attachment'")
    chat_state(ctx)["response"]["attachments"].append(attachment)
    _partial(ctx, attachments=[attachment])
    ctx.activate("exec_out")


@register("events_chat_push_attachments", "Push Attachments", "Events/Chat", "Sends several attachments to the chat's caller.",
          _exec_pins(inp("attachments", "Attachments", "Struct", "Array", options={"enforce_schema": True},
                         description="URLs or attachment objects.")), event_callback=True)
def events_chat_push_attachments(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    attachments = [_attachment(a, f"attachments[{i}]") for i, a in enumerate(as_list(ctx.get("attachments"), "attachments"))]
    chat_state(ctx)["response"]["attachments"].extend(attachments)
    _partial(ctx, attachments=attachments)
    ctx.activate("exec_out")


@register("events_chat_attachment_from_signed_url", "From Signed URL", "Events/Chat/Attachments",
          "An attachment that is just a (signed) URL.",
          [out("attachment", "Attachment", "Struct", description="The attachment."),
           inp("signed_url", "Signed URL", "String", description="The URL.")])
def events_chat_attachment_from_signed_url(ctx: NodeContext) -> None:
    ctx.set("attachment", as_str(ctx.get("signed_url"), "signed_url"))


@register("events_chat_attachment_to_signed_url", "To Signed URL", "Events/Chat/Attachments",
          "The URL of an attachment that is just a URL; Success is false for richer attachments.",
          [inp("attachment", "Attachment", "Struct", options={"enforce_schema": True}, description="The attachment."),
           out("signed_url", "Signed URL", "String", description="The URL, or empty."),
           out("success", "Success", "Boolean", description="Whether the attachment was a plain URL.")])
def events_chat_attachment_to_signed_url(ctx: NodeContext) -> None:
    attachment = _attachment(ctx.get("attachment"), "input 'attachment'")
    plain = isinstance(attachment, str)
    ctx.set("signed_url", attachment if plain else "")
    ctx.set("success", plain)
