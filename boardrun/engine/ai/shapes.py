"""Flow-Like's History, HistoryMessage, Response and ResponseChunk values, and their mapping onto
the OpenAI chat completions API. Values are plain JSON (dicts), with Flow-Like's field names."""

from __future__ import annotations

import copy
from typing import Any

from ..errors import NodeError

ROLES = ("system", "user", "assistant", "function", "tool")
_HISTORY_OPTIONS = ("max_completion_tokens", "top_p", "temperature", "seed", "presence_penalty",
                    "frequency_penalty", "user", "stop", "n")


def new_history(model: str, messages: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    # Flow-Like's History::new: streaming on, every other option unset (serialised as absent).
    return {"model": model, "messages": messages or [], "preset": None, "stream": True}


def text_message(role: str, text: str) -> dict[str, Any]:
    return {"role": role, "content": [{"type": "text", "text": text}]}


def history(value: Any, pin: str = "history") -> dict[str, Any]:
    """A History input, checked enough to be used; returns a deep copy the node may change."""
    if not isinstance(value, dict) or not isinstance(value.get("messages"), list):
        raise NodeError(f"input '{pin}' must be a History (an object with a 'messages' list)")
    if not isinstance(value.get("model", ""), str):
        raise NodeError(f"input '{pin}': 'model' must be a string")
    for position, message in enumerate(value["messages"]):
        check_message(message, f"{pin}.messages[{position}]")
    return copy.deepcopy(value)


def check_message(message: Any, where: str) -> dict[str, Any]:
    if not isinstance(message, dict) or message.get("role") not in ROLES:
        raise NodeError(f"{where} must be a message with a role of {', '.join(ROLES)}")
    content = message.get("content")
    if not isinstance(content, (str, list)):
        raise NodeError(f"{where}: 'content' must be a string or a list of content parts")
    if isinstance(content, list) and not all(isinstance(p, dict) and isinstance(p.get("type"), str) for p in content):
        raise NodeError(f"{where}: every content part must be an object with a 'type'")
    return message


def message_text(message: dict[str, Any], separator: str = "\n") -> str:
    """The text parts of a message joined (images and other parts are skipped)."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    return separator.join(p["text"] for p in content if p.get("type") == "text" and isinstance(p.get("text"), str))


def content_parts(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content)


def system_index(hist: dict[str, Any]) -> int | None:
    return next((i for i, m in enumerate(hist["messages"]) if m.get("role") == "system"), None)


def set_system_prompt(hist: dict[str, Any], prompt: str) -> None:
    index = system_index(hist)
    if index is None:
        hist["messages"].insert(0, text_message("system", prompt))
    else:
        hist["messages"][index]["content"] = [{"type": "text", "text": prompt}]


# -- request ------------------------------------------------------------------------------------

def _api_content(part: dict[str, Any]) -> dict[str, Any]:
    kind = part.get("type")
    if kind == "text" and isinstance(part.get("text"), str):
        return {"type": "text", "text": part["text"]}
    if kind == "image_url" and isinstance(part.get("image_url"), dict) and isinstance(part["image_url"].get("url"), str):
        image: dict[str, Any] = {"url": part["image_url"]["url"]}
        if part["image_url"].get("detail") in ("auto", "low", "high"):
            image["detail"] = part["image_url"]["detail"]
        return {"type": "image_url", "image_url": image}
    raise NodeError(f"message content of type '{kind}' cannot be sent to an OpenAI-compatible provider")


def _api_message(message: dict[str, Any]) -> dict[str, Any]:
    role = message["role"]
    out: dict[str, Any] = {"role": role}
    content = message["content"]
    if isinstance(content, str) or role != "user":
        # Only user messages may carry images; for the others the text is what counts.
        out["content"] = message_text(message)
    else:
        out["content"] = [_api_content(p) for p in content]
    for key in ("name", "tool_call_id"):
        if isinstance(message.get(key), str):
            out[key] = message[key]
    calls = message.get("tool_calls")
    if calls:
        out["tool_calls"] = [{"id": c.get("id", ""), "type": "function",
                              "function": {"name": c["function"]["name"], "arguments": c["function"].get("arguments", "")}}
                             for c in calls if isinstance(c, dict) and isinstance(c.get("function"), dict)]
    return out


def request_body(hist: dict[str, Any], model: str) -> dict[str, Any]:
    """The chat completions request for a History (the Bit's model wins over ``history.model``)."""
    body: dict[str, Any] = {"model": model, "messages": [_api_message(m) for m in hist["messages"]]}
    if not body["messages"]:
        raise NodeError("the history has no messages to send")
    for key in _HISTORY_OPTIONS:
        if hist.get(key) is not None:
            body[key] = hist[key]
    form = hist.get("response_format")
    if isinstance(form, str):
        body["response_format"] = {"type": form}
    elif isinstance(form, dict):
        if isinstance(form.get("type"), str):
            body["response_format"] = form
        else:  # a bare JSON schema
            body["response_format"] = {"type": "json_schema", "json_schema": {"name": "response", "schema": form}}
    if hist.get("tools"):
        body["tools"] = hist["tools"]
        choice = hist.get("tool_choice")
        if isinstance(choice, str):
            body["tool_choice"] = choice.lower()
        elif isinstance(choice, dict) and isinstance(choice.get("function"), dict):
            body["tool_choice"] = {"type": "function", "function": {"name": choice["function"].get("name")}}
    return body


def streams(hist: dict[str, Any]) -> bool:
    return hist.get("stream") is not False


# -- response -----------------------------------------------------------------------------------

def empty_usage() -> dict[str, Any]:
    return {"completion_tokens": 0, "prompt_tokens": 0, "total_tokens": 0, "cost": None}


def new_response() -> dict[str, Any]:
    return {"choices": [], "usage": empty_usage()}


def response_from_text(text: str, model: str = "") -> dict[str, Any]:
    return {"choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text, "tool_calls": []}}],
            "model": model, "usage": empty_usage()}


def chunk_from_text(text: str, model: str = "") -> dict[str, Any]:
    return {"id": "", "choices": [{"index": 0, "delta": {"role": "assistant", "content": text}}], "model": model}


def _usage(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    usage = empty_usage()
    for key in ("completion_tokens", "prompt_tokens", "total_tokens"):
        if type(raw.get(key)) is int:
            usage[key] = raw[key]
    return usage


def _delta(raw: dict[str, Any]) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    for key in ("role", "content", "refusal"):
        if isinstance(raw.get(key), str):
            delta[key] = raw[key]
    # Providers name streamed reasoning differently (DeepSeek: reasoning_content).
    reasoning = raw.get("reasoning", raw.get("reasoning_content"))
    if isinstance(reasoning, str):
        delta["reasoning"] = reasoning
    calls = []
    for call in raw.get("tool_calls") or []:
        if isinstance(call, dict):
            function = call.get("function") if isinstance(call.get("function"), dict) else {}
            calls.append({"index": call.get("index"), "id": call.get("id"), "type": call.get("type"),
                          "function": {"name": function.get("name"), "arguments": function.get("arguments")}})
    if calls:
        delta["tool_calls"] = calls
    return delta


def chunk_from_api(raw: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI stream chunk as Flow-Like's ResponseChunk."""
    choices = []
    for position, choice in enumerate(raw.get("choices") or []):
        if not isinstance(choice, dict):
            raise ValueError("choice is not an object")
        item: dict[str, Any] = {"index": choice.get("index", position),
                                "delta": _delta(choice.get("delta") if isinstance(choice.get("delta"), dict) else {})}
        if isinstance(choice.get("finish_reason"), str):
            item["finish_reason"] = choice["finish_reason"]
        if isinstance(choice.get("logprobs"), dict):
            item["logprobs"] = choice["logprobs"]
        choices.append(item)
    chunk: dict[str, Any] = {"id": str(raw.get("id") or ""), "choices": choices}
    for key in ("created", "model", "service_tier", "system_fingerprint"):
        if raw.get(key) is not None:
            chunk[key] = raw[key]
    usage = _usage(raw.get("usage"))
    if usage is not None:
        chunk["usage"] = usage
    return chunk


def response_from_api(raw: dict[str, Any]) -> dict[str, Any]:
    """A non-streamed OpenAI chat completion as Flow-Like's Response."""
    response: dict[str, Any] = {"choices": [], "usage": _usage(raw.get("usage")) or empty_usage()}
    for key in ("id", "created", "model", "service_tier", "system_fingerprint", "object"):
        if raw.get(key) is not None:
            response[key] = raw[key]
    for position, choice in enumerate(raw["choices"]):
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            raise ValueError("choice without a message")
        delta = _delta(message)
        out_message: dict[str, Any] = {"role": delta.get("role", "assistant"), "tool_calls": []}
        _apply_delta(out_message, {k: v for k, v in delta.items() if k != "role"})
        response["choices"].append({"index": choice.get("index", position),
                                    "finish_reason": choice.get("finish_reason") or "stop", "message": out_message})
    return response


def _append(target: dict[str, Any], key: str, text: Any) -> None:
    if isinstance(text, str):
        target[key] = (target.get(key) or "") + text


def _apply_delta(message: dict[str, Any], delta: dict[str, Any]) -> None:
    for key in ("content", "refusal", "reasoning"):
        _append(message, key, delta.get(key))
    if isinstance(delta.get("role"), str) and delta["role"]:
        message["role"] = delta["role"]
    calls = message.setdefault("tool_calls", [])
    for call in delta.get("tool_calls") or []:
        function = call.get("function") or {}
        index = call.get("index")
        existing = next((c for c in calls if index is not None and c.get("index") == index), None)
        if existing is None:
            existing = {"index": index, "id": "", "type": "function", "function": {"name": "", "arguments": ""}}
            if index is None:
                del existing["index"]
            calls.append(existing)
        if call.get("id"):
            existing["id"] = call["id"]
        if call.get("type"):
            existing["type"] = call["type"]
        _append(existing["function"], "name", function.get("name"))
        _append(existing["function"], "arguments", function.get("arguments"))


def push_chunk(response: dict[str, Any], chunk: dict[str, Any]) -> None:
    """Fold a ResponseChunk into a Response, as Flow-Like's Response::push_chunk does."""
    for key in ("created", "model", "service_tier", "system_fingerprint"):
        if chunk.get(key) is not None:
            response[key] = chunk[key]
    if chunk.get("id") and not response.get("id"):
        response["id"] = chunk["id"]
    usage = chunk.get("usage")
    if isinstance(usage, dict):
        total = response.setdefault("usage", empty_usage())
        for key in ("completion_tokens", "prompt_tokens", "total_tokens"):
            if type(usage.get(key)) is int:
                total[key] = total.get(key, 0) + usage[key]
    for choice in chunk.get("choices") or []:
        existing = next((c for c in response["choices"] if c.get("index") == choice.get("index")), None)
        if existing is None:
            existing = {"index": choice.get("index", 0), "finish_reason": "",
                        "message": {"role": "", "tool_calls": []}}
            response["choices"].append(existing)
        if isinstance(choice.get("delta"), dict):
            _apply_delta(existing["message"], choice["delta"])
        if choice.get("logprobs") is not None:
            existing["logprobs"] = choice["logprobs"]
        if isinstance(choice.get("finish_reason"), str):
            existing["finish_reason"] = choice["finish_reason"]


def check_response(value: Any, pin: str = "response") -> dict[str, Any]:
    if not isinstance(value, dict) or not isinstance(value.get("choices"), list):
        raise NodeError(f"input '{pin}' must be a Response (an object with a 'choices' list)")
    if not all(isinstance(c, dict) and isinstance(c.get("message"), dict) for c in value["choices"]):
        raise NodeError(f"input '{pin}': every choice must have a 'message'")
    return copy.deepcopy(value)


def check_chunk(value: Any, pin: str = "chunk") -> dict[str, Any]:
    if not isinstance(value, dict) or not isinstance(value.get("choices", []), list):
        raise NodeError(f"input '{pin}' must be a ResponseChunk (an object with a 'choices' list)")
    if not all(isinstance(c, dict) for c in value.get("choices", [])):
        raise NodeError(f"input '{pin}': every choice must be an object")
    return value


def chunk_token(chunk: dict[str, Any]) -> str:
    choices = chunk.get("choices") or []
    delta = choices[0].get("delta") if choices else None
    content = delta.get("content") if isinstance(delta, dict) else None
    return content if isinstance(content, str) else ""


def last_message(response: dict[str, Any]) -> dict[str, Any] | None:
    return response["choices"][-1]["message"] if response["choices"] else None


def history_message_from_response(response: dict[str, Any]) -> dict[str, Any]:
    """The assistant message a Response adds to a History (its first choice)."""
    choice = response["choices"][0] if response["choices"] else None
    message = choice["message"] if choice else {}
    role = message.get("role") if message.get("role") in ("user", "assistant", "system") else "assistant"
    out = text_message(role, message.get("content") or "")
    calls = [{"id": c.get("id", ""), "type": "function", "function": c["function"]}
             for c in message.get("tool_calls") or [] if isinstance(c.get("function"), dict)]
    if calls:
        out["tool_calls"] = calls
    return out
