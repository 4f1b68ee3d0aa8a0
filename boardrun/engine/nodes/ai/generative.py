"""AI/Generative: finding and building models, invoking them (streamed), and the History,
HistoryMessage, preference and Response values around them.

Values use Flow-Like's JSON shapes (see :mod:`boardrun.engine.ai.shapes`); calls go to
OpenAI-compatible providers through :mod:`boardrun.engine.ai.client`.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import TYPE_CHECKING, Any, Callable, Iterator

from ...ai import providers, shapes
from ...coerce import as_bool, as_float, as_int, as_list, as_str
from ...errors import NodeError
from ...registry import PinDef, inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext

ENFORCE = {"enforce_schema": True}
Body = Iterator[list[Any]]


def _exec_in(friendly: str = "Input") -> PinDef:
    return inp("exec_in", friendly, "Execution", description="Run the node.")


def _exec_out(name: str = "exec_out", friendly: str = "Output") -> PinDef:
    return out(name, friendly, "Execution", description="Fires when the node is done.")


def _struct_in(name: str, friendly: str, description: str, value_type: str = "Normal", enforce: bool = True) -> PinDef:
    return inp(name, friendly, "Struct", value_type, options=ENFORCE if enforce else None, description=description)


def _struct_out(name: str, friendly: str, description: str, enforce: bool = False) -> PinDef:
    return out(name, friendly, "Struct", options=ENFORCE if enforce else None, description=description)


MODEL_IN = _struct_in("model", "Model", "The model Bit to use.")
HISTORY_IN = _struct_in("history", "History", "The chat history.")
HISTORY_OUT = _struct_out("history_out", "History", "The changed history.")


# -- models -------------------------------------------------------------------------------------

def _jaro_winkler(a: str, b: str) -> float:
    import jellyfish

    return float(jellyfish.jaro_winkler_similarity(a, b))


NAME_HINT_WEIGHT = 0.2  # as in Flow-Like: how much a matching name counts against the weights
NAME_HINT_THRESHOLD = 0.5
PREFERENCE_KEYS = {"Cost": "cost_weight", "Speed": "speed_weight", "Reasoning": "reasoning_weight",
                   "Creativity": "creativity_weight", "Factuality": "factuality_weight",
                   "Function Calling": "function_calling_weight", "Safety": "safety_weight",
                   "Openness": "openness_weight", "Multilinguality": "multilinguality_weight",
                   "Coding": "coding_weight"}


def new_preferences() -> dict[str, Any]:
    return {"multimodal": None, **{key: None for key in PREFERENCE_KEYS.values()}, "model_hint": None}


def _preferences(value: Any, pin: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise NodeError(f"input '{pin}' must be model preferences (from Make Preferences)")
    prefs = {**new_preferences(), **value}
    for key in PREFERENCE_KEYS.values():
        weight = prefs[key]
        if weight is not None and type(weight) not in (int, float):
            raise NodeError(f"input '{pin}': '{key}' must be a number or null")
    if prefs["model_hint"] is not None and not isinstance(prefs["model_hint"], str):
        raise NodeError(f"input '{pin}': 'model_hint' must be a string or null")
    return prefs


def score(model: providers.Model, bit: dict[str, Any], prefs: dict[str, Any]) -> float:
    """How well a model fits the preferences, 0..1, computed as Flow-Like's Bit scoring does:
    the weighted mean of the model's traits, plus a name-similarity term for the model hint."""
    if prefs.get("multimodal") and model.type != "Vlm":
        return 0.0
    total_weight = total = 0.0
    for trait in providers.TRAITS:
        weight = prefs.get(f"{trait}_weight")
        if weight is None:
            continue
        weight = min(1.0, max(0.0, float(weight)))
        total_weight += weight
        total += weight * model.classification.get(trait, 0.0)
    hint = prefs.get("model_hint") or ""
    similarity = 0.0
    if hint:
        similarity = max(_jaro_winkler(model.name, hint), _jaro_winkler(model.id, hint))
        if similarity <= NAME_HINT_THRESHOLD:
            similarity = 0.0
    total += similarity * NAME_HINT_WEIGHT
    total_weight += NAME_HINT_WEIGHT
    return total / total_weight if total_weight > 0.001 else 0.0


@register("ai_generative_find_model", "Find Model", "AI/Generative",
          "Picks the configured chat model that best matches the given preference weights and name hint.",
          [_exec_in(),
           _struct_in("preferences", "Preferences", "Weights (0 to 1) and an optional model name hint."),
           _exec_out(),
           out("model", "Model", "Struct", description="The Bit of the chosen model.")],
          long_running=True)
def ai_generative_find_model(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    try:
        raw = ctx.get("preferences")
    except NodeError:  # nothing wired and no default: Flow-Like's pin defaults to empty preferences
        raw = new_preferences()
    prefs = _preferences(raw, "preferences")
    best: tuple[float, dict[str, Any]] | None = None
    for model, bit in providers.all_model_bits():
        if model.type in providers.EMBEDDING_TYPES:
            continue
        value = score(model, bit, prefs)
        if best is None or value > best[0]:
            best = (value, bit)
    if best is None:
        raise NodeError("no chat model is configured (set OPENAI_API_KEY or OPENAI_BASE_URL, or AI_PROVIDERS)")
    ctx.log("Debug", f"chose model {best[1]['id']} (score {best[0]:.3f})")
    ctx.set("model", best[1])
    ctx.activate("exec_out")


@register("ai_generative_add_headers", "Add Model Headers", "AI/Generative",
          "Returns a copy of the model Bit that sends the given HTTP headers with every call.",
          [_exec_in(), MODEL_IN,
           _struct_in("header", "Header", "A header ({name, value}); add more Header pins in the editor."),
           _exec_out(), out("model_out", "Model", "Struct", description="The model with the headers.")],
          repeatable={"header"})
def ai_generative_add_headers(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    bit = ctx.get("model")
    if not isinstance(bit, dict) or not isinstance(providers._field(bit, "parameters", "provider"), dict):
        raise NodeError("input 'model' must be a model Bit")
    headers = {}
    for header in ctx.get_each("header"):
        if not isinstance(header, dict) or not isinstance(header.get("name"), str) or not isinstance(header.get("value"), str):
            raise NodeError("input 'header' must be an object with string 'name' and 'value'")
        if header["name"] and header["value"]:
            headers[header["name"]] = header["value"]
    bit = copy.deepcopy(bit)
    if headers:
        source = bit["parameters"]["provider"]
        params = source["params"] if isinstance(source.get("params"), dict) else {}
        params["headers"] = {**(params.get("headers") or {}), **headers}
        source["params"] = params
        bit["id"] = _digest(bit["id"], *sorted(f"{k}:{v}" for k, v in headers.items()))
    ctx.set("model_out", bit)
    ctx.activate("exec_out")


def _digest(*parts: str) -> str:
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=32).hexdigest()


# -- invoking -----------------------------------------------------------------------------------

def _chat(ctx: NodeContext, target: providers.Target, hist: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Flow-Like ResponseChunks of one call (one chunk for a history that does not stream)."""
    from ...ai import client

    body = shapes.request_body(hist, target.model)
    try:
        if not shapes.streams(hist):
            answer = shapes.response_from_api(client.complete(ctx, target, body))
            yield {"id": answer.get("id", ""), "model": answer.get("model", target.model), "usage": answer["usage"],
                   "choices": [{"index": c["index"], "finish_reason": c["finish_reason"],
                                "delta": {k: v for k, v in c["message"].items() if v not in (None, [])}}
                               for c in answer["choices"]]}
            return
        for raw in client.stream(ctx, target, body):
            yield shapes.chunk_from_api(raw)
    except (ValueError, TypeError, KeyError, AttributeError):
        raise NodeError(f"AI provider '{target.provider.name}' answered something that is not an "
                        "OpenAI-compatible chat completion") from None


def _invoke(ctx: NodeContext, hist: dict[str, Any], on_chunk: Callable[[dict[str, Any]], None]) -> Body:
    """Call the model, running the On Stream body once per chunk; returns the Response."""
    target = providers.resolve(ctx, ctx.get("model"))
    response = shapes.new_response()
    body = ctx.targets("on_stream")
    for chunk in _chat(ctx, target, hist):
        shapes.push_chunk(response, chunk)
        if not chunk["choices"]:
            continue  # the usage report at the end of a stream carries no text
        on_chunk(chunk)
        if body:
            ctx.activate("on_stream")
            yield body
    ctx.deactivate("on_stream")
    return response


@register("ai_generative_invoke", "Invoke Model", "AI/Generative",
          "Sends the history to the model; runs 'On Stream' for every streamed chunk, then 'Done' with the whole response.",
          [_exec_in(), MODEL_IN, HISTORY_IN,
           out("on_stream", "On Stream", "Execution", description="Runs once per chunk."),
           _struct_out("chunk", "Chunk", "The current chunk.", enforce=True),
           out("done", "Done", "Execution", description="Fires when the answer is complete."),
           _struct_out("result", "Result", "The complete response.", enforce=True)],
          long_running=True)
def ai_generative_invoke(ctx: NodeContext) -> Body:
    ctx.deactivate("done")
    hist = shapes.history(ctx.get("history"))
    response = yield from _invoke(ctx, hist, lambda chunk: ctx.set("chunk", chunk))
    ctx.set("result", response)
    ctx.activate("done")


@register("ai_generative_invoke_simple", "Invoke Simple", "AI/Generative",
          "Asks the model one prompt under a system prompt; 'On Stream' runs per token, 'Done' gives the answer text.",
          [_exec_in(), MODEL_IN,
           inp("system_prompt", "System Prompt", "String", default="", description="Instructions for the model."),
           inp("prompt", "Prompt", "String", default="", description="The user's prompt."),
           out("on_stream", "On Stream", "Execution", description="Runs once per streamed token."),
           out("token", "Token", "String", description="The current token."),
           out("done", "Done", "Execution", description="Fires when the answer is complete."),
           out("result", "Result", "String", description="The answer text.")],
          long_running=True)
def ai_generative_invoke_simple(ctx: NodeContext) -> Body:
    ctx.deactivate("done")
    bit = ctx.get("model")
    name = providers._field(bit, "meta", "en", "name") or (bit.get("id") if isinstance(bit, dict) else "")
    hist = shapes.new_history(name if isinstance(name, str) else "")
    shapes.set_system_prompt(hist, as_str(ctx.get("system_prompt"), "system_prompt"))
    hist["messages"].append(shapes.text_message("user", as_str(ctx.get("prompt"), "prompt")))
    response = yield from _invoke(ctx, hist, lambda chunk: ctx.set("token", shapes.chunk_token(chunk)))
    ctx.set("result", (shapes.last_message(response) or {}).get("content") or "")
    ctx.activate("done")


# -- history ------------------------------------------------------------------------------------

@register("ai_generative_make_history", "Make History", "AI/Generative/History",
          "An empty chat history for the named model (streaming on).",
          [inp("model_name", "Model Name", "String", default="", description="Recorded in the history."),
           _struct_out("history", "History", "The new history.", enforce=True)])
def ai_generative_make_history(ctx: NodeContext) -> None:
    ctx.set("history", shapes.new_history(as_str(ctx.get("model_name"), "model_name")))


@register("ai_generative_history_from_string", "History From String", "AI/Generative/History",
          "A chat history holding one user message with the given text.",
          [inp("model_name", "Model Name", "String", default="", description="Recorded in the history."),
           inp("message", "Message", "String", description="The user's message."),
           _struct_out("history", "History", "The new history.", enforce=True)])
def ai_generative_history_from_string(ctx: NodeContext) -> None:
    hist = shapes.new_history(as_str(ctx.get("model_name"), "model_name"))
    hist["messages"].append(shapes.text_message("user", as_str(ctx.get("message"), "message")))
    ctx.set("history", hist)


@register("ai_generative_from_messages", "From Messages", "AI/Generative/History",
          "A chat history made of the given messages, in order.",
          [inp("model_name", "Model Name", "String", default="", description="Recorded in the history."),
           _struct_in("messages", "Messages", "The messages.", "Array"),
           _struct_out("history", "History", "The new history.", enforce=True)])
def ai_generative_from_messages(ctx: NodeContext) -> None:
    messages = as_list(ctx.get("messages"), "messages")
    for position, message in enumerate(messages):
        shapes.check_message(message, f"messages[{position}]")
    ctx.set("history", shapes.new_history(as_str(ctx.get("model_name"), "model_name"), copy.deepcopy(messages)))


@register("ai_generative_get_system_prompt", "Get System Prompt", "AI/Generative/History",
          "The first system message of a history, if it has one.",
          [HISTORY_IN, _struct_out("system_prompt", "System Prompt", "The system message."),
           out("success", "Found", "Boolean", description="Whether the history has a system message.")])
def ai_generative_get_system_prompt(ctx: NodeContext) -> None:
    hist = shapes.history(ctx.get("history"))
    index = shapes.system_index(hist)
    ctx.set("success", index is not None)
    if index is not None:
        ctx.set("system_prompt", hist["messages"][index])


def _history_step(name: str, friendly: str, description: str, extra: list[PinDef],
                  change: Callable[[NodeContext, dict[str, Any]], None]) -> None:
    """Register an impure node that reads a history, changes it and outputs the result."""

    def run(ctx: NodeContext) -> None:
        ctx.deactivate("exec_out")
        hist = shapes.history(ctx.get("history"))
        change(ctx, hist)
        ctx.set("history_out", hist)
        ctx.activate("exec_out")

    run.__name__ = run.__qualname__ = name
    register(name, friendly, "AI/Generative/History", description,
             [_exec_in(), HISTORY_IN, *extra, _exec_out(), HISTORY_OUT])(run)


def _push_message(ctx: NodeContext, hist: dict[str, Any]) -> None:
    hist["messages"].append(copy.deepcopy(shapes.check_message(ctx.get("message"), "input 'message'")))


def _set_system(ctx: NodeContext, hist: dict[str, Any]) -> None:
    # As in Flow-Like: every system message goes, the new one comes first.
    hist["messages"] = [shapes.text_message("system", as_str(ctx.get("message"), "message"))] + [
        m for m in hist["messages"] if m.get("role") != "system"]


def _setter(key: str, pin: str, read: Callable[[Any, str], Any]) -> Callable[[NodeContext, dict[str, Any]], None]:
    def change(ctx: NodeContext, hist: dict[str, Any]) -> None:
        hist[key] = read(ctx.get(pin), pin)
    return change


def _unsigned(value: Any, pin: str) -> int:
    number = as_int(value, pin)
    if not 0 <= number <= 0xFFFFFFFF:
        raise NodeError(f"input '{pin}' must be from 0 to 4294967295, got {number}")
    return number


def _strings(value: Any, pin: str) -> list[str]:
    items = as_list(value, pin)
    if not all(isinstance(item, str) for item in items):
        raise NodeError(f"input '{pin}' must be an array of strings")
    return items


def _any(value: Any, pin: str) -> Any:
    return value


_history_step("ai_generative_add_history_message", "Push Message", "Appends a message to the history.",
              [_struct_in("message", "Message", "The message to append.")], _push_message)
_history_step("ai_generative_clear_history", "Clear History", "Removes every message from the history.", [],
              lambda ctx, hist: hist["messages"].clear())
_history_step("ai_generative_set_system_prompt_message", "Set System Message",
              "Replaces the history's system messages with one new system message at the start.",
              [inp("message", "Message", "String", default="", description="The system prompt.")], _set_system)
_history_step("ai_generative_set_history_frequency_penalty", "Set History Frequency Penalty",
              "Sets the frequency penalty sent with the history.",
              [inp("frequency_penalty", "Frequency Penalty", "Float", options={"range": [0.0, 1.0]},
                   description="Penalty for repeated tokens.")],
              _setter("frequency_penalty", "frequency_penalty", as_float))
_history_step("ai_generative_set_history_max_tokens", "Set Max Tokens",
              "Sets the maximum number of tokens the model may generate.",
              [inp("max_tokens", "Max Tokens", "Integer", description="Upper bound on the answer's tokens.")],
              _setter("max_completion_tokens", "max_tokens", _unsigned))
_history_step("ai_generative_set_history_n", "Set History N", "Sets how many alternative answers to generate.",
              [inp("n", "N", "Integer", description="Number of choices.")], _setter("n", "n", _unsigned))
_history_step("ai_generative_set_history_presence_penalty", "Set History Presence Penalty",
              "Sets the presence penalty sent with the history.",
              [inp("presence_penalty", "Presence Penalty", "Float", options={"range": [0.0, 1.0]},
                   description="Penalty for tokens already present.")],
              _setter("presence_penalty", "presence_penalty", as_float))
_history_step("ai_generative_set_history_response_format", "Set Response Format",
              "Sets the response format: a string such as 'json_object', or a JSON schema object.",
              [inp("response_format", "Response Format", "Generic", options={"enforce_generic_value_type": True},
                   description="The format.")],
              _setter("response_format", "response_format", _any))
_history_step("ai_generative_set_history_seed", "Set Seed", "Sets the sampling seed sent with the history.",
              [inp("seed", "Seed", "Integer", description="The seed.")], _setter("seed", "seed", _unsigned))
_history_step("ai_generative_set_history_stop_words", "Set Stop Words",
              "Sets the sequences at which the model stops generating.",
              [inp("stop_words", "Stop Words", "String", "Array", description="The stop sequences.")],
              _setter("stop", "stop_words", _strings))
_history_step("ai_generative_set_history_stream", "Set Stream", "Turns streaming of the answer on or off.",
              [inp("stream", "Stream", "Boolean", default=True, description="Stream the answer.")],
              _setter("stream", "stream", as_bool))
_history_step("ai_generative_set_history_temperature", "Set History Temperature",
              "Sets the sampling temperature sent with the history.",
              [inp("temperature", "Temperature", "Float", options={"range": [0.0, 2.0]},
                   description="Higher is more random.")],
              _setter("temperature", "temperature", as_float))
_history_step("ai_generative_set_history_top_p", "Set History Top P", "Sets nucleus sampling's probability mass.",
              [inp("top_p", "Top P", "Float", description="Probability mass to sample from.")],
              _setter("top_p", "top_p", as_float))
_history_step("ai_generative_set_history_user", "Set History User", "Sets the end-user id sent with the history.",
              [inp("user", "User", "String", description="An id of the end user.")],
              _setter("user", "user", as_str))


@register("ai_generative_pop_history_message", "Pop Message from History", "AI/Generative/History",
          "Removes the last message of the history; continues on 'Empty' when there is none.",
          [_exec_in(), HISTORY_IN, _exec_out(), HISTORY_OUT,
           _struct_out("message", "Message", "The removed message."),
           out("empty", "Empty", "Execution", description="Fires when the history had no message.")])
def ai_generative_pop_history_message(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    ctx.deactivate("empty")
    hist = shapes.history(ctx.get("history"))
    if not hist["messages"]:
        ctx.set("history_out", hist)
        ctx.activate("empty")
        return
    ctx.set("message", hist["messages"].pop())
    ctx.set("history_out", hist)
    ctx.activate("exec_out")


# -- messages -----------------------------------------------------------------------------------

_ROLE_OF = {"Assistant": "assistant", "System": "system", "Tool": "tool"}
_CONTENT_TYPES = ["Text", "Image"]


def _content_part(ctx: NodeContext, kind: str, with_mime: bool) -> dict[str, Any]:
    """A content part from the editor-added pins: 'text', or 'image' (and 'mime' for Push Content)."""
    if kind == "Image":
        image: dict[str, Any] = {"url": as_str(ctx.get("image"), "image")}
        if with_mime:
            image["detail"] = as_str(ctx.get("mime"), "mime")
        return {"type": "image_url", "image_url": image}
    return {"type": "text", "text": as_str(ctx.get("text"), "text")}


@register("ai_generative_make_history_message", "Make Message", "AI/Generative/History/Message",
          "A message of the given role with text or image content (the editor adds the content pins).",
          [inp("role", "Role", "String", default="User", options={"valid_values": ["Assistant", "System", "User", "Tool"]},
               description="Who speaks."),
           inp("type", "Type", "String", default="Text", options={"valid_values": _CONTENT_TYPES},
               description="Text or Image."),
           _struct_out("message", "Message", "The message.")],
          extra_inputs=True)
def ai_generative_make_history_message(ctx: NodeContext) -> None:
    role = _ROLE_OF.get(as_str(ctx.get("role"), "role"), "user")
    message: dict[str, Any] = {"role": role, "content": [_content_part(ctx, as_str(ctx.get("type"), "type"), False)]}
    if role == "tool":
        message["tool_call_id"] = as_str(ctx.get("tool_call_id"), "tool_call_id")
    ctx.set("message", message)


@register("ai_generative_message_extract_content", "Extract Content", "AI/Generative/History/Message",
          "The text of a message: its text parts joined by newlines, trimmed.",
          [_struct_in("message", "Message", "The message.", enforce=False),
           out("content", "Content", "String", description="The text.")])
def ai_generative_message_extract_content(ctx: NodeContext) -> None:
    message = shapes.check_message(ctx.get("message"), "input 'message'")
    ctx.set("content", shapes.message_text(message).strip())


@register("ai_generative_push_content", "Push Content", "AI/Generative/History/Message",
          "Appends a text or image part to a message (the editor adds the content pins).",
          [_exec_in(), _struct_in("message", "Message", "The message.", enforce=False),
           inp("type", "Type", "String", default="Text", options={"valid_values": _CONTENT_TYPES},
               description="Text or Image."),
           _exec_out(), _struct_out("message_out", "Message", "The message with the new part.")],
          extra_inputs=True)
def ai_generative_push_content(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    message = copy.deepcopy(shapes.check_message(ctx.get("message"), "input 'message'"))
    kind = as_str(ctx.get("type"), "type")
    parts = shapes.content_parts(message)
    if kind in _CONTENT_TYPES:
        parts.append(_content_part(ctx, kind, True))
    message["content"] = parts
    ctx.set("message_out", message)
    ctx.activate("exec_out")


# -- preferences --------------------------------------------------------------------------------

@register("ai_generative_make_preferences", "Make Preferences", "AI/Generative/Preferences",
          "Model preferences with no weights set, optionally requiring a multimodal model.",
          [inp("multimodal", "Multimodal", "Boolean", default=False, description="Require image input."),
           _struct_out("preferences", "Preferences", "The preferences.")])
def ai_generative_make_preferences(ctx: NodeContext) -> None:
    ctx.set("preferences", {**new_preferences(), "multimodal": as_bool(ctx.get("multimodal"), "multimodal")})


def _preference_step(name: str, friendly: str, description: str, extra: list[PinDef],
                     change: Callable[[NodeContext, dict[str, Any]], None]) -> None:
    def run(ctx: NodeContext) -> None:
        ctx.deactivate("exec_out")
        prefs = _preferences(ctx.get("preferences_in"), "preferences_in")
        change(ctx, prefs)
        ctx.set("preferences_out", prefs)
        ctx.activate("exec_out")

    run.__name__ = run.__qualname__ = name
    register(name, friendly, "AI/Generative/Preferences", description,
             [_exec_in(), _struct_in("preferences_in", "Preferences", "The preferences."), *extra, _exec_out(),
              _struct_out("preferences_out", "Preferences", "The changed preferences.")])(run)


def _set_weight(ctx: NodeContext, prefs: dict[str, Any]) -> None:
    key = PREFERENCE_KEYS.get(as_str(ctx.get("preferences_key"), "preferences_key"))
    weight = as_float(ctx.get("weight"), "weight")
    if key is not None:  # an unknown key changes nothing, as in Flow-Like
        prefs[key] = weight


_preference_step("ai_generative_set_model_hint", "Set Model Hint",
                 "Sets the model name hint: models whose name is similar score higher.",
                 [inp("model_hint", "Model Hint", "String", description="A model name or part of one.")],
                 lambda ctx, prefs: prefs.__setitem__("model_hint", as_str(ctx.get("model_hint"), "model_hint")))
_preference_step("ai_generative_set_preference_weight", "Set Preference Weight",
                 "Sets how much one model trait (cost, speed, reasoning, ...) counts when choosing a model.",
                 [inp("preferences_key", "Preferences", "String", default="Cost",
                      options={"valid_values": list(PREFERENCE_KEYS)}, description="The trait."),
                  inp("weight", "Weight", "Float", options={"range": [0.0, 1.0]}, description="0 to 1.")],
                 _set_weight)


# -- providers built on the board ---------------------------------------------------------------

_BUILDERS = (
    # node suffix, kind, friendly name, default endpoint, default model
    ("anthropic", "anthropic", "Anthropic Model", "https://api.anthropic.com", "claude-3-5-sonnet-20241022"),
    ("cohere", "cohere", "Cohere Model", "https://api.cohere.ai", "command-r-plus-08-2024"),
    ("deepseek", "deepseek", "Deepseek Model", "https://api.deepseek.com", "deepseek-chat"),
    ("galadriel", "galadriel", "Galadriel Model", "https://api.galadriel.com/v1/verified", "llama3.1:70b"),
    ("gemini", "gemini", "Gemini Model", "https://generativelanguage.googleapis.com", "gemini-2.5-flash"),
    ("groq", "groq", "Groq Model", "https://api.groq.com/openai/v1", "llama-3.3-70b-versatile"),
    ("huggingface", "huggingface", "Huggingface Model", "https://router.huggingface.co",
     "meta-llama/Meta-Llama-3-8B-Instruct"),
    ("hyperbolic", "hyperbolic", "Hyperbolic Model", "https://api.hyperbolic.xyz",
     "meta-llama/Meta-Llama-3.1-70B-Instruct"),
    ("mira", "mira", "Mira Model", "https://api.mira.network", "mira-v1"),
    ("mistral", "mistral", "Mistral Model", "https://api.mistral.ai", "mistral-large-latest"),
    ("moonshot", "moonshot", "Moonshot AI Model", "https://api.moonshot.cn/v1", "moonshot-v1-8k"),
    ("openrouter", "openrouter", "OpenRouter Model", "https://openrouter.ai/api/v1", "meta-llama/llama-3.3-70b-instruct"),
    ("perplexity", "perplexity", "Perplexity Model", "https://api.perplexity.ai", "llama-3.1-sonar-small-128k-online"),
    ("together", "together", "Together AI Model", "https://api.together.xyz", "meta-llama/Llama-3.3-70B-Instruct-Turbo"),
    ("voyageai", "voyageai", "VoyageAI Model", "https://api.voyageai.com/v1", "voyage-3"),
    ("xai", "xai", "xAI Model", "https://api.x.ai", "grok-2-1212"),
)


def build_bit(ctx: NodeContext, kind: str, endpoint: str, api_key: str | None, model_id: str,
              extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Bit for a provider typed into the board. The key stays in the run's private state."""
    params: dict[str, Any] = {"endpoint": endpoint, "model_id": model_id, **(extra or {})}
    if api_key:
        params["api_key_ref"] = providers.remember_secret(ctx, api_key)
    source = {"provider_name": f"custom:{kind}", "model_id": model_id, "version": params.get("version"),
              "params": params}
    parameters = {"context_length": 20000, "provider": source,
                  "model_classification": {t: 0.0 for t in providers.TRAITS}}
    return providers.make_bit(_digest(kind, endpoint, model_id), "Vlm", model_id, f"{model_id} at {endpoint}", parameters)


def _api_key_pin() -> PinDef:
    return inp("api_key", "API Key", "String", default="", options={"sensitive": True},
               description="The provider's API key (kept out of the Bit and of every log).")


def _builder(suffix: str, kind: str, friendly: str, endpoint: str, model: str) -> None:
    name = f"ai_generative_build_{suffix}"
    compatible = kind in providers.OPENAI_COMPATIBLE
    note = "" if compatible else " This provider does not speak the OpenAI API, so invoking it fails."

    def run(ctx: NodeContext) -> None:
        ctx.deactivate("exec_out")
        ctx.set("model", build_bit(ctx, kind, as_str(ctx.get("endpoint"), "endpoint"),
                                   as_str(ctx.get("api_key"), "api_key"), as_str(ctx.get("model_id"), "model_id")))
        ctx.activate("exec_out")

    run.__name__ = run.__qualname__ = name
    register(name, friendly, "AI/Generative/Provider",
             f"Describes a {friendly.removesuffix(' Model')} model reached at the given endpoint.{note}",
             [_exec_in(), inp("endpoint", "Endpoint", "String", default=endpoint, description="The API's base URL."),
              _api_key_pin(), inp("model_id", "Model ID", "String", default=model, description="The model to use."),
              _exec_out(), out("model", "Model", "Struct", description="The model Bit.")],
             long_running=True)(run)


for _spec in _BUILDERS:
    _builder(*_spec)


@register("ai_generative_build_ollama", "Ollama Model", "AI/Generative/Provider",
          "Describes a model served by Ollama at the given endpoint (its OpenAI-compatible API).",
          [_exec_in(), inp("endpoint", "Endpoint", "String", default="http://localhost:11434",
                           description="Where Ollama listens."),
           inp("model_id", "Model ID", "String", default="llama3.3", description="The model to use."),
           _exec_out(), out("model", "Model", "Struct", description="The model Bit.")],
          long_running=True)
def ai_generative_build_ollama(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    ctx.set("model", build_bit(ctx, "ollama", as_str(ctx.get("endpoint"), "endpoint"), None,
                               as_str(ctx.get("model_id"), "model_id")))
    ctx.activate("exec_out")


@register("ai_generative_build_openai", "OpenAI Model", "AI/Generative/Provider",
          "Describes an OpenAI or Azure OpenAI model (Azure: the editor adds Model ID and Version pins).",
          [_exec_in(), inp("provider", "Provider", "String", default="OpenAI", options={"valid_values": ["OpenAI", "Azure"]},
                           description="OpenAI or Azure."),
           inp("endpoint", "Endpoint", "String", default="https://api.openai.com/v1/", description="The API's base URL."),
           _api_key_pin(), _exec_out(), out("model", "Model", "Struct", description="The model Bit.")],
          long_running=True, extra_inputs=True)
def ai_generative_build_openai(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    azure = as_str(ctx.get("provider"), "provider").lower() == "azure"
    model = as_str(ctx.get("model_id"), "model_id") if ctx.has_input("model_id") else ""
    extra: dict[str, Any] = {"is_azure": True} if azure else {}
    if ctx.has_input("version") and as_str(ctx.get("version"), "version"):
        extra["version"] = ctx.get("version")
    # Flow-Like's fallback model when the board names none.
    ctx.set("model", build_bit(ctx, "azure" if azure else "openai", as_str(ctx.get("endpoint"), "endpoint"),
                               as_str(ctx.get("api_key"), "api_key"), model or "gpt-5", extra))
    ctx.activate("exec_out")


# -- responses ----------------------------------------------------------------------------------

@register("ai_generative_llm_response_make", "Make Response", "AI/Generative/Response",
          "An empty response, to fold chunks into.",
          [_struct_out("response", "Response", "The empty response.", enforce=True)])
def ai_generative_llm_response_make(ctx: NodeContext) -> None:
    ctx.set("response", shapes.new_response())


@register("ai_generative_llm_response_from_string", "Response From String", "AI/Generative/Response",
          "A response whose only choice is an assistant message with the given text.",
          [inp("content", "Content", "String", default="", description="The message text."),
           _struct_out("response", "Response", "The response.", enforce=True)])
def ai_generative_llm_response_from_string(ctx: NodeContext) -> None:
    ctx.set("response", shapes.response_from_text(as_str(ctx.get("content"), "content")))


@register("ai_generative_llm_chunk_from_string", "Chunk From String", "AI/Generative/Response",
          "A streamed chunk carrying the given text as the assistant's delta.",
          [inp("content", "Content", "String", default="", description="The chunk text."),
           _struct_out("chunk", "Chunk", "The chunk.", enforce=True)])
def ai_generative_llm_chunk_from_string(ctx: NodeContext) -> None:
    ctx.set("chunk", shapes.chunk_from_text(as_str(ctx.get("content"), "content")))


@register("ai_generative_llm_response_last_content", "Last Content", "AI/Generative/Response",
          "The text of the response's last message.",
          [_struct_in("response", "Response", "The response."),
           out("content", "Content", "String", description="The text."),
           out("success", "Success", "Boolean", description="Whether there was a message with text.")])
def ai_generative_llm_response_last_content(ctx: NodeContext) -> None:
    message = shapes.last_message(shapes.check_response(ctx.get("response")))
    content = message.get("content") if message else None
    ctx.set("success", isinstance(content, str))
    ctx.set("content", content if isinstance(content, str) else "")


@register("ai_generative_llm_response_last_message", "Last Message", "AI/Generative/Response",
          "The response's last message.",
          [_struct_in("response", "Response", "The response."),
           _struct_out("message", "Message", "The message."),
           out("success", "Success", "Boolean", description="Whether the response has a message.")])
def ai_generative_llm_response_last_message(ctx: NodeContext) -> None:
    message = shapes.last_message(shapes.check_response(ctx.get("response")))
    ctx.set("success", message is not None)
    if message is not None:
        ctx.set("message", message)


@register("ai_generative_llm_response_push_chunk", "Push Chunk", "AI/Generative/Response",
          "Folds a streamed chunk into a response (texts appended, tool calls merged, usage added).",
          [_exec_in(), _struct_in("response", "Response", "The response so far."),
           _struct_in("chunk", "Chunk", "The chunk."), _exec_out(),
           _struct_out("response_out", "Response", "The response with the chunk.")])
def ai_generative_llm_response_push_chunk(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    response = shapes.check_response(ctx.get("response"))
    shapes.push_chunk(response, shapes.check_chunk(ctx.get("chunk")))
    ctx.set("response_out", response)
    ctx.activate("exec_out")


@register("ai_generative_llm_response_chunk_get_token", "Get Token", "AI/Generative/Response/Chunk",
          "The text a chunk adds (empty when it adds none).",
          [_struct_in("chunk", "Chunk", "The chunk."), out("token", "Token", "String", description="The text.")])
def ai_generative_llm_response_chunk_get_token(ctx: NodeContext) -> None:
    ctx.set("token", shapes.chunk_token(shapes.check_chunk(ctx.get("chunk"))))


def _response_message(ctx: NodeContext) -> dict[str, Any]:
    message = ctx.get("message")
    if not isinstance(message, dict):
        raise NodeError("input 'message' must be a ResponseMessage (from Last Message)")
    return message


@register("ai_generative_llm_response_message_get_content", "Get Content", "AI/Generative/Response/Message",
          "The text of a response message.",
          [_struct_in("message", "Message", "The message."), out("content", "Content", "String", description="The text."),
           out("success", "Success", "Boolean", description="Whether the message has text.")])
def ai_generative_llm_response_message_get_content(ctx: NodeContext) -> None:
    content = _response_message(ctx).get("content")
    ctx.set("success", isinstance(content, str))
    ctx.set("content", content if isinstance(content, str) else "")


@register("ai_generative_llm_response_message_get_role", "Get Role", "AI/Generative/Response/Message",
          "The role of a response message.",
          [_struct_in("message", "Message", "The message."),
           out("role", "Role", "String", options={"valid_values": ["system", "user", "assistant"]},
               description="The role.")])
def ai_generative_llm_response_message_get_role(ctx: NodeContext) -> None:
    role = _response_message(ctx).get("role")
    ctx.set("role", role if isinstance(role, str) else "")


# -- tools without an agent ---------------------------------------------------------------------

def _tool_list(raw: str) -> list[dict[str, Any]]:
    try:
        tools = json.loads(raw)
    except ValueError as exc:
        raise NodeError(f"input 'tools' is not JSON: {exc}") from None
    if not isinstance(tools, list) or not all(
            isinstance(t, dict) and isinstance(t.get("function"), dict) and isinstance(t["function"].get("name"), str)
            for t in tools):
        raise NodeError("input 'tools' must be a JSON array of function tools ({type, function: {name, ...}})")
    return tools


@register("invoke_llm_with_tools", "Invoke with Tools", "AI/Generative",
          "Asks the model with the given tools; for each tool call the output named after the tool runs "
          "with the call's arguments (the editor adds one output per tool), then 'Done'.",
          [_exec_in(), MODEL_IN, HISTORY_IN,
           inp("tools", "Tools", "String", default="[]", description="The tools as a JSON array (OpenAI's format)."),
           inp("tool_choice", "Tool Choice", "String", default="Auto", options={"valid_values": ["Auto", "Required", "None"]},
               description="Whether the model may, must or must not call tools."),
           out("exec_done", "Done", "Execution", description="Fires after the answer and every tool call."),
           _struct_out("response", "Response", "The model's response.", enforce=True),
           out("tool_call_args", "Tool Call Args", "Struct", description="The arguments of the current tool call.")],
          long_running=True, extra_outputs=True)
def invoke_llm_with_tools(ctx: NodeContext) -> Body:
    ctx.deactivate("exec_done")
    tools = _tool_list(as_str(ctx.get("tools"), "tools"))
    names = [t["function"]["name"] for t in tools]
    for name in names:
        ctx.deactivate(name)
    choice = {"Required": "required", "None": "none"}.get(as_str(ctx.get("tool_choice"), "tool_choice"), "auto")
    target = providers.resolve(ctx, ctx.get("model"))
    hist = shapes.history(ctx.get("history"))
    if tools and choice != "none":
        hist["tools"], hist["tool_choice"] = tools, choice
    hist["stream"] = False
    response = shapes.new_response()
    for chunk in _chat(ctx, target, hist):
        shapes.push_chunk(response, chunk)
    calls = [c for c in (shapes.last_message(response) or {}).get("tool_calls") or [] if c.get("function")]
    if calls and choice == "none":
        raise NodeError("the model called a tool although Tool Choice is None")
    if not calls and choice == "required":
        raise NodeError("the model called no tool although Tool Choice is Required")
    ctx.set("response", response)
    for call in calls:
        name = call["function"].get("name")
        try:
            arguments = json.loads(call["function"].get("arguments") or "{}")
        except ValueError:
            raise NodeError(f"the model called '{name}' with arguments that are not JSON") from None
        ctx.set("tool_call_args", arguments)
        for other in names:
            ctx.deactivate(other)
        body = ctx.targets(name)
        if name not in names or not body:
            ctx.log("Warn", f"the model called '{name}', which no output of this node runs")
            continue
        ctx.activate(name)
        yield body
    for name in names:
        ctx.deactivate(name)
    ctx.activate("exec_done")


# -- decisions and extraction by tool call --------------------------------------------------------

def _forced_call(ctx: NodeContext, hist: dict[str, Any], tool: dict[str, Any]) -> dict[str, Any]:
    """Ask the model, requiring it to call ``tool``; returns the call's arguments."""
    target = providers.resolve(ctx, ctx.get("model"))
    hist["tools"] = [tool]
    hist["tool_choice"] = {"type": "function", "function": {"name": tool["function"]["name"]}}
    hist["stream"] = False
    response = shapes.new_response()
    for chunk in _chat(ctx, target, hist):
        shapes.push_chunk(response, chunk)
    name = tool["function"]["name"]
    calls = [c for c in (shapes.last_message(response) or {}).get("tool_calls") or []
             if c.get("function", {}).get("name") == name]
    if not calls:
        raise NodeError(f"AI provider '{target.provider.name}': the model did not call '{name}' as required")
    try:
        arguments = json.loads(calls[-1]["function"].get("arguments") or "{}")
    except ValueError:
        raise NodeError(f"AI provider '{target.provider.name}': the model's '{name}' arguments are not JSON") from None
    if not isinstance(arguments, dict):
        raise NodeError(f"AI provider '{target.provider.name}': the model's '{name}' arguments are not an object")
    return arguments


def _one_shot(system: str, user: str) -> dict[str, Any]:
    hist = shapes.new_history("")
    shapes.set_system_prompt(hist, system)
    hist["messages"].append(shapes.text_message("user", user))
    return hist


_DECIDE = {"type": "function", "function": {
    "name": "decide", "description": "Report the decision.",
    "parameters": {"type": "object", "required": ["decision", "reason"], "properties": {
        "decision": {"type": "boolean", "description": "true for yes, false for no"},
        "reason": {"type": "string", "description": "one sentence why"}}}}}


@register("llm_branch", "LLM Branch", "AI/Generative",
          "Lets the model answer a yes/no question and continues on 'True' or 'False'.",
          [_exec_in(), MODEL_IN, inp("prompt", "Prompt", "String", description="The yes/no question."),
           out("true", "True", "Execution", description="The model said yes."),
           out("false", "False", "Execution", description="The model said no.")],
          long_running=True)
def llm_branch(ctx: NodeContext) -> None:
    ctx.deactivate("true")
    ctx.deactivate("false")
    hist = _one_shot("Decide the user's yes/no question. Answer only by calling the 'decide' function.",
                     as_str(ctx.get("prompt"), "prompt"))
    arguments = _forced_call(ctx, hist, _DECIDE)
    if type(arguments.get("decision")) is not bool:
        raise NodeError("the model's decision is not true or false")
    if isinstance(arguments.get("reason"), str):
        ctx.log("Debug", f"decision: {arguments['decision']} ({arguments['reason']})")
    ctx.activate("true" if arguments["decision"] else "false")


def _extract(ctx: NodeContext, hist: dict[str, Any]) -> None:
    import jsonschema

    ctx.deactivate("exec_out")
    try:
        schema = json.loads(as_str(ctx.get("schema"), "schema"))
    except ValueError as exc:
        raise NodeError(f"input 'schema' is not JSON: {exc}") from None
    if not isinstance(schema, dict):
        raise NodeError("input 'schema' must be a JSON schema object")
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise NodeError(f"input 'schema' is not a valid JSON schema: {exc.message}") from None
    wrapped = schema.get("type") != "object"  # tool parameters must be an object: wrap anything else
    parameters = {"type": "object", "properties": {"value": schema}, "required": ["value"]} if wrapped else schema
    tool = {"type": "function", "function": {"name": "submit", "description": "Submit the extracted data.",
                                             "parameters": parameters}}
    arguments = _forced_call(ctx, hist, tool)
    value = arguments.get("value") if wrapped else arguments
    problems = sorted(jsonschema.Draft202012Validator(schema).iter_errors(value), key=lambda e: list(e.path))
    if problems:
        raise NodeError(f"the extracted data does not match the schema: {problems[0].message}")
    ctx.set("response", value)
    ctx.activate("exec_out")


_EXTRACT_SYSTEM = ("Extract structured data from the conversation or text you are given. Answer only by calling "
                   "the 'submit' function with data that matches its parameters.")


def _extract_pins(source: Any) -> list[Any]:
    return [_exec_in(), MODEL_IN, inp("schema", "Schema", "String", description="A JSON schema of the data."), source,
            inp("hint", "Extraction Hint", "String", default="", description="What to look for (optional)."),
            out("exec_out", "Execution Output", "Execution", description="Fires with the data."),
            out("response", "Json", "Generic", description="The extracted data.")]


def _with_hint(text: str, hint: str) -> str:
    return f"Hint: {hint}\n\n{text}" if hint.strip() else text


@register("llm_extractor", "AI Extractor", "AI/Generative",
          "Has the model extract data matching a JSON schema from a text; the result is checked against the schema.",
          _extract_pins(inp("text", "Text", "String", description="The text to extract from.")), long_running=True)
def llm_extractor(ctx: NodeContext) -> None:
    text = _with_hint(as_str(ctx.get("text"), "text"), as_str(ctx.get("hint"), "hint"))
    _extract(ctx, _one_shot(_EXTRACT_SYSTEM, text))


@register("llm_extractor_history", "AI Extractor from History", "AI/Generative",
          "Has the model extract data matching a JSON schema from a conversation.",
          _extract_pins(HISTORY_IN), long_running=True)
def llm_extractor_history(ctx: NodeContext) -> None:
    hist = shapes.history(ctx.get("history"))
    hint = as_str(ctx.get("hint"), "hint")
    system = _with_hint(_EXTRACT_SYSTEM, hint)
    hist["messages"] = [m for m in hist["messages"] if m.get("role") != "system"]
    shapes.set_system_prompt(hist, system)
    _extract(ctx, hist)
