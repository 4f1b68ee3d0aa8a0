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


# Content types of attachments by file extension (the list Flow-Like's From Path knows).
_CONTENT_TYPES = {
    "pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
    "webp": "image/webp", "svg": "image/svg+xml", "mp4": "video/mp4", "webm": "video/webm", "mp3": "audio/mpeg",
    "wav": "audio/wav", "ogg": "audio/ogg", "json": "application/json", "xml": "application/xml",
    "html": "text/html", "css": "text/css", "js": "application/javascript", "txt": "text/plain",
    "md": "text/markdown", "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "csv": "text/csv", "zip": "application/zip",
}


@register("events_chat_attachment_from_path", "From Path", "Events/Chat/Attachments",
          "An attachment for a file of the app: a signed download URL with its name and content type.",
          [inp("exec_in", "Input", "Execution", description="Make the attachment."),
           inp("path", "Path", "Struct", options={"enforce_schema": True}, schema="FlowPath",
               description="The file (in S3 storage: the URL is presigned)."),
           inp("name", "Name", "String", default="", description="Name to show; the file name when empty."),
           inp("preview_text", "Preview Text", "String", default="", description="A short preview (optional)."),
           inp("page", "Page", "Integer", default=-1, description="Page to open; negative for none."),
           inp("anchor", "Anchor", "String", default="", description="Anchor to jump to (optional)."),
           inp("expiration", "Expiration (seconds)", "Integer", default=3600, description="How long the URL works."),
           out("exec_out", "Output", "Execution", description="Fires once made."),
           out("attachment", "Attachment", "Struct", schema="Attachment", description="The attachment.")])
def events_chat_attachment_from_path(ctx: NodeContext) -> None:
    from ...files import extension

    ctx.deactivate("exec_out")
    loc = ctx.files.locate(ctx.get("path"), "path")
    name = as_str(ctx.get("name"), "name")
    preview = as_str(ctx.get("preview_text"), "preview_text")
    page = as_int(ctx.get("page"), "page")
    anchor = as_str(ctx.get("anchor"), "anchor")
    if not ctx.files.exists(loc):  # a link to nothing would only fail later, in the user's browser
        raise NodeError(f"file '{loc.rel}' not found")
    url = ctx.files.sign_url(loc, "GET", as_int(ctx.get("expiration"), "expiration"))
    filename = loc.rel.rsplit("/", 1)[-1] or None
    ext = extension(loc.rel).lower()
    ctx.set("attachment", {"url": url, "preview_text": preview or None, "thumbnail_url": None,
                           "name": name or filename, "size": None,
                           "type": _CONTENT_TYPES.get(ext, "application/octet-stream") if ext else None,
                           "anchor": anchor or None, "page": page if page >= 0 else None})
    ctx.activate("exec_out")


def _image_urls(hist: dict[str, Any]) -> list[str]:
    """The image URLs of the history's last message."""
    content = hist["messages"][-1].get("content") if hist["messages"] else None
    if not isinstance(content, list):
        return []
    images = [part.get("image_url") for part in content if part.get("type") == "image_url"]
    return [image["url"] for image in images if isinstance(image, dict) and isinstance(image.get("url"), str)]


def _safe_name(name: str) -> str:
    return "".join(c if (c.isascii() and c.isalnum()) or c in ".-_" else "-" for c in name)


def _unique(name: str, used: dict[str, int]) -> str:
    count = used[name] = used.get(name, 0) + 1
    if count == 1:
        return name
    stem, dot, ext = name.rpartition(".")
    return f"{stem}-{count - 1}.{ext}" if dot and stem else f"{name}-{count - 1}"


def _ext_for(content_type: str) -> str | None:
    import mimetypes

    guessed = mimetypes.guess_extension(content_type.split(";", 1)[0].strip().lower(), strict=False)
    return guessed.lstrip(".") if guessed else None


def _hash_name(data: bytes) -> str:
    import blake3

    return f"blob-{blake3.blake3(data).hexdigest()[:16]}"


def _download(ctx: NodeContext, url: str) -> tuple[str, bytes]:
    """(file name, bytes) of an attachment URL: http(s) through the egress policy, or a data: URL."""
    import base64
    import binascii
    from email.message import Message
    from urllib.parse import parse_qsl, unquote, unquote_to_bytes, urlsplit

    from ... import http_egress

    if url.startswith("data:"):
        meta, comma, data = url[5:].partition(",")
        if not comma:
            raise NodeError("an attachment's data: URL has no ',' before its data")
        kind = meta.split(";", 1)[0] or "application/octet-stream"
        try:
            body = base64.b64decode(data, validate=True) if ";base64" in meta else unquote_to_bytes(data)
        except (binascii.Error, ValueError):
            raise NodeError("an attachment's data: URL is not valid base64") from None
        return f"{_hash_name(body)}.{_ext_for(kind) or 'bin'}", body
    if urlsplit(url).scheme not in ("http", "https"):
        raise NodeError(f"attachment URL scheme '{urlsplit(url).scheme}' is not supported (http, https or data)")
    reply = http_egress.send(ctx.egress, "GET", url, {}, None, time_left=ctx.time_left())
    if not 200 <= reply.status_code < 300:
        raise NodeError(f"downloading attachment {url} failed: HTTP {reply.status_code}")
    header = Message()
    header["content-disposition"] = reply.headers.get("content-disposition", "")
    parts = urlsplit(url)
    query = next((v for k, v in parse_qsl(parts.query) if k.lower() == "filename" and v), None)
    name = (header.get_filename() or query or unquote(parts.path.rsplit("/", 1)[-1]) or _hash_name(reply.body))
    if "." not in name:
        name += "." + (_ext_for(reply.headers.get("content-type", "")) or "bin")
    return name, reply.body


@register("ai_gen_llm_history_extract_attachments", "Extract Attachments", "Events/Chat",
          "Downloads the chat's attachments (and the images of the history's last message) into a virtual "
          "folder of this run and gives their paths.",
          [inp("exec_in", "Input", "Execution", description="Download."),
           inp("history", "History", "Struct", options={"enforce_schema": True}, schema="History",
               description="The chat history (optional): images of its last message are added."),
           inp("attachments", "Attachments", "Struct", "Array", default=[], options={"enforce_schema": True},
               schema="Attachment", description="URLs or attachment objects."),
           out("exec_out", "Output", "Execution", description="Fires once downloaded."),
           out("paths", "Paths", "Struct", "Array", options={"enforce_schema": True}, schema="FlowPath",
               description="The downloaded files, in order.")])
def ai_gen_llm_history_extract_attachments(ctx: NodeContext) -> None:
    from ...files import with_path

    ctx.deactivate("exec_out")
    attachments = [_attachment(a, f"attachments[{i}]")
                   for i, a in enumerate(as_list(ctx.get("attachments"), "attachments"))]
    try:  # the history is optional, as in Flow-Like
        hist = ctx.get("history")
    except NodeError:
        hist = None
    if hist is not None:
        attachments += _image_urls(shapes.history(hist))
    folder = ctx.files.virtual_dir(ctx.node_id)
    used: dict[str, int] = {}
    paths = []
    for attachment in attachments:
        url = attachment if isinstance(attachment, str) else attachment["url"]
        name, data = _download(ctx, url)
        wanted = attachment.get("name") if isinstance(attachment, dict) else None
        safe = _safe_name(wanted if isinstance(wanted, str) and wanted else name)
        path = with_path(folder, _unique(safe if safe.strip(".") else _hash_name(data), used))
        ctx.files.write(ctx.files.locate(path, "paths"), data)
        paths.append(path)
    ctx.set("paths", paths)
    ctx.activate("exec_out")
