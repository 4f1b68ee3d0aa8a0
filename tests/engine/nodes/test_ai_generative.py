"""AI/Generative nodes against a real OpenAI-compatible HTTP server on 127.0.0.1, through the SDK."""

from __future__ import annotations

import json
from typing import Any

import pytest

import ai_testkit
from ai_testkit import DEFAULT_KEY, LOCAL_KEY, chat_board, configure, forget_requests, load_bit, logged
from boardrun import services
from boardrun.engine import CancelToken, EgressPolicy, RunLimits
from engine_testkit import BoardBuilder, run_pure

ai = ai_testkit.ai  # the shared fixture, used by name
stub = ai_testkit.stub  # the shared fixture, used by name

LOCAL = EgressPolicy(allow_private=True)


def _no_secret(result: Any, events: list[Any]) -> None:
    text = json.dumps(result.to_dict()) + json.dumps([e.to_dict() for e in events], default=str)
    assert DEFAULT_KEY not in text and LOCAL_KEY not in text


# -- invoke ---------------------------------------------------------------------------------------

def test_invoke_streams_every_chunk_then_returns_the_response(ai):
    """Each streamed chunk runs On Stream (the tokens arrive in order), Done gets the whole Response in
    Flow-Like's shape, and the request carries the system prompt, the user message and the key."""
    b, start = chat_board("local:coder")
    events: list[Any] = []
    result = b.run(start, on_event=events.append)
    assert result.status == "completed", result.error
    # The last chunk only carries the finish reason: it runs On Stream with an empty token.
    assert logged(events, "token-log") == ["You", " said:", " hi", " there", ""]
    response = result.result
    assert response["choices"][0]["message"]["content"] == "You said: hi there"
    assert response["choices"][0]["message"]["role"] == "assistant"
    assert response["choices"][0]["finish_reason"] == "stop"
    assert response["usage"]["total_tokens"] == 9 and response["model"] == "coder"
    (request,) = ai.chat_requests("coder")
    assert request["body"]["stream"] is True
    assert [m["role"] for m in request["body"]["messages"]] == ["system", "user"]
    assert request["body"]["messages"][1]["content"] == [{"type": "text", "text": "hi there"}]
    assert request["headers"]["authorization"] == f"Bearer {LOCAL_KEY}"
    _no_secret(result, events)


def test_invoke_without_streaming_runs_on_stream_once(ai):
    """A history with streaming off makes one non-streamed call; On Stream runs once with the whole text."""
    b, start = chat_board("local:coder", streaming=False)
    events: list[Any] = []
    result = b.run(start, on_event=events.append)
    assert result.status == "completed", result.error
    assert logged(events, "token-log") == ["You said: hi there"]
    assert result.result["choices"][0]["message"]["content"] == "You said: hi there"
    assert result.result["usage"]["total_tokens"] == 8
    assert ai.chat_requests("coder")[0]["body"]["stream"] is False


def test_history_options_reach_the_request(ai):
    """Temperature, max tokens, seed, stop words, user, n, penalties, top p and response format set on the
    history are sent with the request under the OpenAI names."""
    b = BoardBuilder()
    start = b.add("events_simple")
    bit = load_bit(b, "local:coder", start)
    hist = b.add("ai_generative_history_from_string", message="x")
    steps = [("ai_generative_set_history_temperature", {"temperature": 0.5}),
             ("ai_generative_set_history_max_tokens", {"max_tokens": 64}),
             ("ai_generative_set_history_seed", {"seed": 7}),
             ("ai_generative_set_history_stop_words", {"stop_words": ["END"]}),
             ("ai_generative_set_history_user", {"user": "u-1"}),
             ("ai_generative_set_history_n", {"n": 1}),
             ("ai_generative_set_history_presence_penalty", {"presence_penalty": 0.1}),
             ("ai_generative_set_history_frequency_penalty", {"frequency_penalty": 0.2}),
             ("ai_generative_set_history_top_p", {"top_p": 0.9}),
             ("ai_generative_set_history_response_format", {"response_format": "json_object"})]
    last, pin = bit, (hist, "history")
    for name, value in steps:
        node = b.add(name, **value)
        b.connect(last, "exec_out", node, "exec_in")
        b.connect(*pin, node, "history")
        last, pin = node, (node, "history_out")
    invoke = b.add("ai_generative_invoke")
    b.connect(last, "exec_out", invoke, "exec_in")
    b.connect(bit, "output_bit", invoke, "model")
    b.connect(*pin, invoke, "history")
    result = b.run(start)
    assert result.status == "completed", result.error
    body = ai.chat_requests("coder")[0]["body"]
    assert {k: body[k] for k in ("temperature", "max_completion_tokens", "seed", "stop", "user", "n",
                                 "presence_penalty", "frequency_penalty", "top_p", "response_format")} == {
        "temperature": 0.5, "max_completion_tokens": 64, "seed": 7, "stop": ["END"], "user": "u-1", "n": 1,
        "presence_penalty": 0.1, "frequency_penalty": 0.2, "top_p": 0.9, "response_format": {"type": "json_object"}}


def test_invoke_simple_streams_tokens_and_returns_text(ai):
    """Invoke Simple sends system prompt + prompt to the default provider and gives the answer as text."""
    b = BoardBuilder()
    start = b.add("events_simple")
    bit = load_bit(b, "openai:echo", start)
    simple = b.add("ai_generative_invoke_simple", system_prompt="sys", prompt="hello")
    b.connect(bit, "exec_out", simple, "exec_in")
    b.connect(bit, "output_bit", simple, "model")
    log = b.add("log_info", node_id="tok")
    b.connect(simple, "on_stream", log, "exec_in")
    b.connect(simple, "token", log, "message")
    ret = b.add("events_generic_return_result")
    b.connect(simple, "done", ret, "exec_in")
    b.connect(simple, "result", ret, "response")
    events: list[Any] = []
    result = b.run(start, on_event=events.append)
    assert result.status == "completed", result.error
    assert result.result == "You said: hello"
    assert logged(events, "tok") == ["You", " said:", " hello", ""]
    (request,) = ai.chat_requests("echo")
    assert request["headers"]["authorization"] == f"Bearer {DEFAULT_KEY}"
    assert [m["role"] for m in request["body"]["messages"]] == ["system", "user"]


# -- find model -------------------------------------------------------------------------------------

def _find(prefs_steps: list[tuple[str, dict[str, Any]]], multimodal: bool = False):
    b = BoardBuilder()
    start = b.add("events_simple")
    prefs = b.add("ai_generative_make_preferences", multimodal=multimodal)
    last, pin = start, (prefs, "preferences")
    for name, value in prefs_steps:
        node = b.add(name, **value)
        b.connect(last, "exec_out", node, "exec_in")
        b.connect(*pin, node, "preferences_in")
        last, pin = node, (node, "preferences_out")
    find = b.add("ai_generative_find_model")
    b.connect(last, "exec_out", find, "exec_in")
    b.connect(*pin, find, "preferences")
    ret = b.add("events_generic_return_result")
    b.connect(find, "exec_out", ret, "exec_in")
    b.connect(find, "model", ret, "response")
    return b.run(start)


@pytest.mark.parametrize(("steps", "multimodal", "expected"), [
    ([("ai_generative_set_preference_weight", {"preferences_key": "Coding", "weight": 1.0})], False, "local:coder"),
    ([("ai_generative_set_preference_weight", {"preferences_key": "Cost", "weight": 1.0}),
      ("ai_generative_set_preference_weight", {"preferences_key": "Speed", "weight": 0.5})], False, "local:cheap"),
    ([("ai_generative_set_model_hint", {"model_hint": "Cheap"})], False, "local:cheap"),
    ([("ai_generative_set_preference_weight", {"preferences_key": "Cost", "weight": 1.0})], True, "local:seer"),
])
def test_find_model_scores_configured_models(ai, steps, multimodal, expected):
    """Find Model picks the best-scoring chat model: trait weights, the name hint, multimodal as a filter."""
    result = _find(steps, multimodal)
    assert result.status == "completed", result.error
    bit = result.result
    assert bit["id"] == expected
    assert bit["parameters"]["provider"]["provider_name"] == "local"
    assert bit["type"] in ("Llm", "Vlm") and "en" in bit["meta"]


def test_find_model_with_nothing_wired_uses_empty_preferences(ai):
    """Unwired preferences count as empty ones (Flow-Like's default): the first configured chat model wins."""
    b = BoardBuilder()
    start = b.add("events_simple")
    find = b.add("ai_generative_find_model")
    b.chain(start, find)
    ret = b.add("events_generic_return_result")
    b.connect(find, "exec_out", ret, "exec_in")
    b.connect(find, "model", ret, "response")
    result = b.run(start)
    assert result.result["id"] == "openai:echo", result.error


def test_find_model_without_providers_fails_clearly(stub, monkeypatch):
    """With no provider configured, Find Model fails naming the settings to set."""
    configure(monkeypatch, stub)
    for key in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "AI_PROVIDERS"):
        monkeypatch.delenv(key)
    services.reset()
    result = _find([])
    assert result.reason == "node_error"
    assert "no chat model is configured" in result.error["message"] and "AI_PROVIDERS" in result.error["message"]


def test_bad_provider_configuration_is_a_node_error(stub, monkeypatch):
    """An unreadable AI_PROVIDERS fails the node with a message naming the setting, not a crash."""
    configure(monkeypatch, stub, AI_PROVIDERS='[{"name": "x", "base_url": 5}]')
    result = _find([])
    assert result.reason == "node_error"
    assert "configuration is invalid" in result.error["message"] and "base_url" in result.error["message"]
    configure(monkeypatch, stub, AI_PROVIDERS="[not json")
    assert "AI_PROVIDERS is not valid JSON" in _find([]).error["message"]


# -- provider failures ------------------------------------------------------------------------------

def test_rate_limit_is_retried_after_retry_after(ai):
    """Two 429 answers with Retry-After are retried; the third attempt succeeds."""
    b, start = chat_board("local:ratelimited")
    events: list[Any] = []
    result = b.run(start, on_event=events.append)
    assert result.status == "completed", result.error
    assert len(ai.chat_requests("ratelimited")) == 3
    assert sum("retrying" in (e.message or "") for e in events if e.kind == "log") == 2


def test_server_errors_are_retried_then_fail_naming_the_provider(stub, monkeypatch):
    """A provider that keeps answering 500 is retried AI_MAX_RETRIES times, then the node fails."""
    configure(monkeypatch, stub, AI_MAX_RETRIES="1")
    forget_requests(stub)
    b, start = chat_board("local:broken")
    result = b.run(start)
    assert result.reason == "node_error"
    assert result.error["node_id"] == "invoke"
    assert "AI provider 'local' answered HTTP 500" in result.error["message"]
    assert "the model crashed" in result.error["message"]
    assert len(stub.chat_requests("broken")) == 2


def test_garbage_answer_fails_cleanly(ai):
    """A body that is not an OpenAI response fails the node, saying so."""
    b, start = chat_board("local:garbage", streaming=False)
    result = b.run(start)
    assert result.reason == "node_error"
    assert "not an OpenAI-compatible" in result.error["message"]


def test_keys_never_leak_into_errors_or_events(ai):
    """A provider that echoes the Authorization header in its error: the key is scrubbed everywhere."""
    b, start = chat_board("local:leaky")
    events: list[Any] = []
    result = b.run(start, on_event=events.append)
    assert result.reason == "node_error"
    assert "HTTP 401" in result.error["message"] and "Bearer ***" in result.error["message"]
    _no_secret(result, events)


def test_a_provider_that_does_not_answer_times_out(stub, monkeypatch):
    """A provider that sends nothing fails the node after AI_TIMEOUT_SECONDS, without hanging."""
    configure(monkeypatch, stub, AI_TIMEOUT_SECONDS="0.5", AI_MAX_RETRIES="0")
    b, start = chat_board("local:hang")
    result = b.run(start)
    assert result.reason == "node_error"
    assert "AI provider 'local' did not answer in time" in result.error["message"]


def test_cancel_stops_a_stream_between_chunks(ai):
    """Cancelling while chunks keep coming ends the run as cancelled after the current chunk."""
    b, start = chat_board("local:slow")
    token = CancelToken()

    def on_event(event):
        if event.kind == "log" and event.node_id == "token-log":
            token.cancel()

    result = b.run(start, cancel=token, on_event=on_event)
    assert result.status == "cancelled"


def test_deadline_stops_an_endless_stream(ai):
    """A stream that never ends is stopped by the run's deadline."""
    b, start = chat_board("local:slow")
    result = b.run(start, limits=RunLimits(deadline_seconds=0.5))
    assert (result.status, result.reason) == ("failed", "deadline")


@pytest.mark.parametrize(("payload", "message"), [
    ({"id": "x", "parameters": {"provider": {"provider_name": "nowhere", "model_id": "m"}}},
     "AI provider 'nowhere' is not configured"),
    ({"id": "x", "parameters": {"provider": {"provider_name": "local", "model_id": "nope"}}},
     "AI provider 'local' has no model 'nope' configured"),
    ({"id": "x", "parameters": {"provider": {"provider_name": "local", "model_id": "embedder"}}},
     "is not a chat model"),
    ({"id": "x"}, "names no provider"),
    ("not a bit", "must be a model Bit"),
])
def test_invoke_refuses_bits_it_cannot_serve(ai, payload, message):
    """A Bit naming an unknown provider, an unknown model, an embedding model or nothing fails the node."""
    b = BoardBuilder()
    start = b.add("events_generic")
    hist = b.add("ai_generative_history_from_string", message="x")
    invoke = b.add("ai_generative_invoke")
    b.connect(start, "exec_out", invoke, "exec_in")
    b.connect(start, "payload", invoke, "model")
    b.connect(hist, "history", invoke, "history")
    result = b.run(start, payload)
    assert result.reason == "node_error"
    assert message in result.error["message"]


def test_invoke_refuses_a_history_that_is_not_one(ai):
    """A history input of the wrong shape fails the node naming the pin."""
    b = BoardBuilder()
    start = b.add("events_simple")
    bit = load_bit(b, "local:coder", start)
    invoke = b.add("ai_generative_invoke", history={"messages": "nope"})
    b.connect(bit, "exec_out", invoke, "exec_in")
    b.connect(bit, "output_bit", invoke, "model")
    result = b.run(start)
    assert result.reason == "node_error" and "input 'history' must be a History" in result.error["message"]


# -- providers built on the board ---------------------------------------------------------------------

def _built(node: str, egress: EgressPolicy = LOCAL, **pins: Any):
    b = BoardBuilder()
    start = b.add("events_simple")
    build = b.add(node, **pins)
    b.connect(start, "exec_out", build, "exec_in")
    hist = b.add("ai_generative_history_from_string", message="built")
    invoke = b.add("ai_generative_invoke")
    b.connect(build, "exec_out", invoke, "exec_in")
    b.connect(build, "model", invoke, "model")
    b.connect(hist, "history", invoke, "history")
    ret = b.add("events_generic_return_result")
    b.connect(invoke, "done", ret, "exec_in")
    b.connect(build, "model", ret, "response")
    events: list[Any] = []
    return b.run(start, egress=egress, on_event=events.append), events


def test_ollama_node_reaches_the_openai_compatible_api(ai):
    """The Ollama node's endpoint without a path gets /v1; the call needs no key."""
    root = ai.base_url.removesuffix("/v1")
    result, _ = _built("ai_generative_build_ollama", endpoint=root, model_id="llama-local")
    assert result.status == "completed", result.error
    assert result.result["parameters"]["provider"]["provider_name"] == "custom:ollama"
    (request,) = ai.chat_requests("llama-local")
    assert request["path"] == "/v1/chat/completions"


@pytest.mark.parametrize("node", ["ai_generative_build_openai", "ai_generative_build_groq",
                                  "ai_generative_build_deepseek", "ai_generative_build_openrouter",
                                  "ai_generative_build_mistral", "ai_generative_build_xai"])
def test_key_typed_into_the_board_is_used_but_never_exported(ai, node):
    """An API key given on the board authenticates the call, but the Bit, result and events hold none."""
    secret = "sk-board-5555aaaa5555"
    extra = {} if node == "ai_generative_build_openai" else {"model_id": "board-model"}
    result, events = _built(node, endpoint=ai.base_url, api_key=secret, **extra)
    assert result.status == "completed", result.error
    model = "gpt-5" if node == "ai_generative_build_openai" else "board-model"
    (request,) = ai.chat_requests(model)
    assert request["headers"]["authorization"] == f"Bearer {secret}"
    text = json.dumps(result.to_dict()) + json.dumps([e.to_dict() for e in events], default=str)
    assert secret not in text


def test_board_endpoints_obey_the_egress_policy(ai):
    """Without private addresses allowed, a board-typed endpoint on 127.0.0.1 is refused."""
    result, _ = _built("ai_generative_build_ollama", egress=EgressPolicy(), endpoint=ai.base_url, model_id="m")
    assert result.reason == "node_error" and "egress refused" in result.error["message"]
    assert ai.chat_requests("m") == []


@pytest.mark.parametrize("node", ["ai_generative_build_mira", "ai_generative_build_voyageai"])
def test_providers_without_an_openai_api_fail_on_invoke(ai, node):
    """Mira and VoyageAI build a Bit, but invoking it says the provider does not speak the OpenAI API."""
    result, _ = _built(node, endpoint=ai.base_url, api_key="k")
    assert result.reason == "node_error" and "does not speak the OpenAI API" in result.error["message"]


# -- history, message, preference and response values ---------------------------------------------

def _step(node: str, inputs: dict[str, Any], output: str):
    b = BoardBuilder()
    start = b.add("events_simple")
    step = b.add(node, **inputs)
    ret = b.add("events_generic_return_result")
    b.connect(start, "exec_out", step, "exec_in")
    b.connect(step, "exec_out", ret, "exec_in")
    b.connect(step, output, ret, "response")
    return b.run(start)


TEXT = [{"type": "text", "text": "hi"}]
HIST = {"model": "m", "messages": [{"role": "system", "content": "old"}, {"role": "user", "content": TEXT}],
        "preset": None, "stream": True}


def test_pure_history_makers():
    """Make History, History From String and From Messages build Flow-Like's History struct."""
    assert run_pure("ai_generative_make_history", "history", model_name="m").result == {
        "model": "m", "messages": [], "preset": None, "stream": True}
    assert run_pure("ai_generative_history_from_string", "history", model_name="m", message="hi").result[
        "messages"] == [{"role": "user", "content": TEXT}]
    messages = [{"role": "assistant", "content": "a"}]
    assert run_pure("ai_generative_from_messages", "history", messages=messages).result["messages"] == messages
    assert run_pure("ai_generative_from_messages", "history", messages=[{"role": "x"}]).reason == "node_error"


@pytest.mark.parametrize(("node", "inputs", "output", "expected"), [
    ("ai_generative_set_system_prompt_message", {"history": HIST, "message": "new"}, "history_out",
     [{"role": "system", "content": [{"type": "text", "text": "new"}]}, {"role": "user", "content": TEXT}]),
    ("ai_generative_add_history_message", {"history": HIST, "message": {"role": "assistant", "content": "a"}},
     "history_out", [*HIST["messages"], {"role": "assistant", "content": "a"}]),
    ("ai_generative_clear_history", {"history": HIST}, "history_out", []),
    ("ai_generative_pop_history_message", {"history": HIST}, "message", {"role": "user", "content": TEXT}),
])
def test_history_steps(node, inputs, output, expected):
    """The impure history nodes change a copy of the history as Flow-Like's do."""
    result = _step(node, inputs, output)
    assert result.status == "completed", result.error
    value = result.result
    assert (value["messages"] if output == "history_out" else value) == expected


def test_pop_on_an_empty_history_continues_on_empty():
    """Pop Message on an empty history fires 'Empty', not 'Output'."""
    b = BoardBuilder()
    start = b.add("events_simple")
    pop = b.add("ai_generative_pop_history_message", history={"model": "", "messages": []})
    ret = b.add("events_generic_return_result", response="empty")
    b.connect(start, "exec_out", pop, "exec_in")
    b.connect(pop, "empty", ret, "exec_in")
    assert b.run(start).result == "empty"


def test_setters_refuse_bad_values():
    """Negative token counts and non-string stop words fail naming the pin."""
    assert "max_tokens" in _step("ai_generative_set_history_max_tokens", {"history": HIST, "max_tokens": -1},
                                 "history_out").error["message"]
    assert "stop_words" in _step("ai_generative_set_history_stop_words", {"history": HIST, "stop_words": [1]},
                                 "history_out").error["message"]


def test_system_prompt_and_message_content():
    """Get System Prompt finds the system message; Extract Content joins and trims text parts."""
    assert run_pure("ai_generative_get_system_prompt", "system_prompt", history=HIST).result == HIST["messages"][0]
    assert run_pure("ai_generative_get_system_prompt", "success", history={"model": "", "messages": []}).result is False
    message = {"role": "user", "content": [{"type": "text", "text": " a"}, {"type": "image_url", "image_url": {"url": "u"}},
                                           {"type": "text", "text": "b "}]}
    assert run_pure("ai_generative_message_extract_content", "content", message=message).result == "a\nb"


def test_make_message_and_push_content_use_editor_pins():
    """Make Message and Push Content read the 'text' / 'image' pins the editor adds."""
    b = BoardBuilder()
    start = b.add("events_simple")
    make = b.add("ai_generative_make_history_message", role="Assistant")
    b.add_pin(make, "text", "Input", "String", default="hello")
    push = b.add("ai_generative_push_content", type="Image")
    b.add_pin(push, "image", "Input", "String", default="data:image/png;base64,AA")
    b.add_pin(push, "mime", "Input", "String", default="image/png")
    b.connect(start, "exec_out", push, "exec_in")
    b.connect(make, "message", push, "message")
    ret = b.add("events_generic_return_result")
    b.connect(push, "exec_out", ret, "exec_in")
    b.connect(push, "message_out", ret, "response")
    result = b.run(start)
    assert result.status == "completed", result.error
    assert result.result == {"role": "assistant", "content": [
        {"type": "text", "text": "hello"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA", "detail": "image/png"}}]}
    assert run_pure("ai_generative_make_history_message", "message").reason == "node_error"  # no text pin


def test_preferences_nodes():
    """Make Preferences, Set Preference Weight and Set Model Hint fill BitModelPreference's fields."""
    prefs = run_pure("ai_generative_make_preferences", "preferences", multimodal=True).result
    assert prefs["multimodal"] is True and prefs["cost_weight"] is None and prefs["model_hint"] is None
    weighted = _step("ai_generative_set_preference_weight",
                     {"preferences_in": prefs, "preferences_key": "Function Calling", "weight": 0.7}, "preferences_out")
    assert weighted.result["function_calling_weight"] == 0.7
    hinted = _step("ai_generative_set_model_hint", {"preferences_in": prefs, "model_hint": "gpt"}, "preferences_out")
    assert hinted.result["model_hint"] == "gpt"


def test_response_values():
    """Response and chunk helpers: from string, make, last content/message, token, push chunk, role."""
    response = run_pure("ai_generative_llm_response_from_string", "response", content="done").result
    assert run_pure("ai_generative_llm_response_last_content", "content", response=response).result == "done"
    message = run_pure("ai_generative_llm_response_last_message", "message", response=response).result
    assert run_pure("ai_generative_llm_response_message_get_role", "role", message=message).result == "assistant"
    assert run_pure("ai_generative_llm_response_message_get_content", "content", message=message).result == "done"
    empty = run_pure("ai_generative_llm_response_make", "response").result
    assert empty["choices"] == [] and empty["usage"]["total_tokens"] == 0
    assert run_pure("ai_generative_llm_response_last_content", "success", response=empty).result is False
    chunk = run_pure("ai_generative_llm_chunk_from_string", "chunk", content="tok").result
    assert run_pure("ai_generative_llm_response_chunk_get_token", "token", chunk=chunk).result == "tok"
    pushed = _step("ai_generative_llm_response_push_chunk", {"response": response, "chunk": chunk}, "response_out")
    assert pushed.result["choices"][0]["message"]["content"] == "donetok"
    fresh = _step("ai_generative_llm_response_push_chunk", {"response": empty, "chunk": chunk}, "response_out")
    assert fresh.result["choices"][0]["message"] == {"role": "assistant", "content": "tok", "tool_calls": []}
    assert run_pure("ai_generative_llm_response_last_content", "content", response={"x": 1}).reason == "node_error"


def test_add_headers_are_sent(ai):
    """Add Model Headers makes every call of that model carry the headers."""
    b = BoardBuilder()
    start = b.add("events_simple")
    bit = load_bit(b, "local:coder", start)
    add = b.add("ai_generative_add_headers", header={"name": "X-Team", "value": "blue"})
    b.connect(bit, "exec_out", add, "exec_in")
    b.connect(bit, "output_bit", add, "model")
    hist = b.add("ai_generative_history_from_string", message="x")
    invoke = b.add("ai_generative_invoke")
    b.connect(add, "exec_out", invoke, "exec_in")
    b.connect(add, "model_out", invoke, "model")
    b.connect(hist, "history", invoke, "history")
    result = b.run(start)
    assert result.status == "completed", result.error
    assert ai.chat_requests("coder")[0]["headers"]["x-team"] == "blue"


WEATHER_TOOLS = json.dumps([{"type": "function", "function": {
    "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}])


def _with_tools(model_id: str, choice: str = "Auto"):
    b = BoardBuilder()
    start = b.add("events_simple")
    bit = load_bit(b, model_id, start)
    hist = b.add("ai_generative_history_from_string", message="weather?")
    node = b.add("invoke_llm_with_tools", tools=WEATHER_TOOLS, tool_choice=choice)
    b.add_pin(node, "get_weather", "Output", "Execution")
    b.connect(bit, "exec_out", node, "exec_in")
    b.connect(bit, "output_bit", node, "model")
    b.connect(hist, "history", node, "history")
    log = b.add("log_info", node_id="tool-log")
    b.connect(node, "get_weather", log, "exec_in")
    b.connect(node, "tool_call_args", log, "message")
    ret = b.add("events_generic_return_result")
    b.connect(node, "exec_done", ret, "exec_in")
    b.connect(node, "response", ret, "response")
    events: list[Any] = []
    return b.run(start, on_event=events.append), events


def test_invoke_with_tools_runs_the_output_of_the_called_tool(ai):
    """The model's tool call runs the output named after the tool with its arguments, then Done."""
    result, events = _with_tools("local:tools")
    assert result.status == "completed", result.error
    assert [json.loads(m) for m in logged(events, "tool-log")] == [{"city": "Paris"}]
    assert result.result["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_weather"
    (request,) = ai.chat_requests("tools")
    assert request["body"]["tool_choice"] == "auto" and request["body"]["tools"] == json.loads(WEATHER_TOOLS)


def test_invoke_with_tools_enforces_the_tool_choice(ai):
    """Required without a tool call, or None with one, fails the node; bad tools JSON too."""
    assert "no tool although Tool Choice is Required" in _with_tools("local:coder", "Required")[0].error["message"]
    b = BoardBuilder()
    start = b.add("events_simple")
    node = b.add("invoke_llm_with_tools", tools="{bad", model={}, history=HIST)
    b.connect(start, "exec_out", node, "exec_in")
    assert "input 'tools' is not JSON" in b.run(start).error["message"]


def test_llm_branch_follows_the_models_decision(ai):
    """LLM Branch forces a 'decide' call and continues on the branch the model chose."""
    b = BoardBuilder()
    start = b.add("events_simple")
    bit = load_bit(b, "local:tools", start)
    branch = b.add("llm_branch", prompt="Is water wet?")
    b.connect(bit, "exec_out", branch, "exec_in")
    b.connect(bit, "output_bit", branch, "model")
    for name in ("true", "false"):
        ret = b.add("events_generic_return_result", response=name)
        b.connect(branch, name, ret, "exec_in")
    result = b.run(start)
    assert result.result == "true", result.error
    (request,) = ai.chat_requests("tools")
    assert request["body"]["tool_choice"] == {"type": "function", "function": {"name": "decide"}}
    assert request["body"]["messages"][1]["content"] == [{"type": "text", "text": "Is water wet?"}]


def _extract(model_id: str, schema: Any, node: str = "llm_extractor"):
    b = BoardBuilder()
    start = b.add("events_simple")
    bit = load_bit(b, model_id, start)
    source = {"text": "I live in Paris."} if node == "llm_extractor" else {"history": HIST}
    extract = b.add(node, schema=json.dumps(schema) if not isinstance(schema, str) else schema, **source)
    b.connect(bit, "exec_out", extract, "exec_in")
    b.connect(bit, "output_bit", extract, "model")
    ret = b.add("events_generic_return_result")
    b.connect(extract, "exec_out", ret, "exec_in")
    b.connect(extract, "response", ret, "response")
    return b.run(start)


CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


@pytest.mark.parametrize("node", ["llm_extractor", "llm_extractor_history"])
def test_extractors_return_data_matching_the_schema(ai, node):
    """The extractors force a 'submit' call with the schema as parameters and return its arguments."""
    result = _extract("local:tools", CITY, node)
    assert result.result == {"city": "Paris"}, result.error
    assert ai.chat_requests("tools")[0]["body"]["tools"][0]["function"]["parameters"] == CITY


@pytest.mark.parametrize(("model", "schema", "message"), [
    ("local:tools", {"type": "object", "required": ["age"], "properties": {"age": {"type": "integer"}}},
     "does not match the schema"),
    ("local:tools", "{bad", "input 'schema' is not JSON"),
    ("local:tools", {"type": 5}, "not a valid JSON schema"),
    ("local:coder", CITY, "did not call 'submit'"),
])
def test_extractor_failures_are_node_errors(ai, model, schema, message):
    """Data that misses the schema, a bad schema, or a model that does not call the tool fail the node."""
    result = _extract(model, schema)
    assert result.reason == "node_error" and message in result.error["message"]
