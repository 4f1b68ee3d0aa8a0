"""Test helper for the AI nodes: a provider configuration pointing at the local OpenAI stub."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from engine_testkit import BoardBuilder
from openai_stub import OpenAIStub
from boardrun import services

DEFAULT_KEY = "sk-default-0123456789abcdef"
LOCAL_KEY = "sk-local-fedcba9876543210"
LOCAL_MODELS = [
    {"id": "coder", "name": "Coder", "classification": {"coding": 0.9, "cost": 0.2, "speed": 0.5}},
    {"id": "cheap", "name": "Cheap", "classification": {"coding": 0.1, "cost": 1.0, "speed": 0.9}},
    {"id": "seer", "name": "Seer", "type": "Vlm", "classification": {"coding": 0.3, "cost": 0.3}},
    *({"id": m} for m in ("ratelimited", "broken", "garbage", "leaky", "slow", "hang", "tools", "vision")),
    {"id": "embedder", "type": "Embedding", "context_length": 8192},
]


@pytest.fixture(scope="module")
def stub():
    """A real OpenAI-protocol server on 127.0.0.1, shared by a test module (import it by name)."""
    server = OpenAIStub().start()
    yield server
    server.stop()


@pytest.fixture
def ai(stub, monkeypatch):
    """The stub as the only configured provider, with no requests recorded yet."""
    configure(monkeypatch, stub)
    forget_requests(stub)
    return stub


def forget_requests(stub: OpenAIStub) -> None:
    with stub.lock:
        stub.requests.clear()


def configure(monkeypatch: pytest.MonkeyPatch, stub: OpenAIStub, **extra: str) -> None:
    """Only the stub's providers: the default one (OPENAI_*) and 'local' (AI_PROVIDERS)."""
    for key in list(os.environ):
        if key.startswith(("AI_", "OPENAI_")):
            monkeypatch.delenv(key)
    local = [{"name": "local", "base_url": stub.base_url, "api_key_env": "AI_LOCAL_KEY", "models": LOCAL_MODELS}]
    settings = {"OPENAI_BASE_URL": stub.base_url, "OPENAI_API_KEY": DEFAULT_KEY, "AI_DEFAULT_MODEL": "echo",
                "AI_PROVIDERS": json.dumps(local), "AI_LOCAL_KEY": LOCAL_KEY, "AI_TIMEOUT_SECONDS": "10",
                "AI_MAX_RETRIES": "3", **extra}
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    services.reset()


def load_bit(b: BoardBuilder, bit_id: str, after: str) -> str:
    """Add a 'Load Bit' node run after ``after``; returns its id."""
    node = b.add("bit_from_string", bit_id=bit_id)
    b.connect(after, "exec_out", node, "exec_in")
    return node


def chat_board(bit_id: str, message: str = "hi there", system: str | None = "be brief",
               streaming: bool = True) -> tuple[BoardBuilder, str]:
    """events_simple -> Load Bit -> [Set System Message] -> [Set Stream] -> Invoke (On Stream logs each
    token) -> return the response. Returns the builder and the start node id."""
    b = BoardBuilder()
    start = b.add("events_simple")
    bit = load_bit(b, bit_id, start)
    hist = b.add("ai_generative_history_from_string", message=message)
    last, history_pin = bit, (hist, "history")
    if system is not None:
        sys_node = b.add("ai_generative_set_system_prompt_message", message=system)
        b.connect(*history_pin, sys_node, "history")
        b.connect(last, "exec_out", sys_node, "exec_in")
        last, history_pin = sys_node, (sys_node, "history_out")
    if not streaming:
        off = b.add("ai_generative_set_history_stream", stream=False)
        b.connect(*history_pin, off, "history")
        b.connect(last, "exec_out", off, "exec_in")
        last, history_pin = off, (off, "history_out")
    invoke = b.add("ai_generative_invoke", node_id="invoke")
    b.connect(last, "exec_out", invoke, "exec_in")
    b.connect(bit, "output_bit", invoke, "model")
    b.connect(*history_pin, invoke, "history")
    token = b.add("ai_generative_llm_response_chunk_get_token")
    b.connect(invoke, "chunk", token, "chunk")
    log = b.add("log_info", node_id="token-log")
    b.connect(invoke, "on_stream", log, "exec_in")
    b.connect(token, "token", log, "message")
    ret = b.add("events_generic_return_result")
    b.connect(invoke, "done", ret, "exec_in")
    b.connect(invoke, "result", ret, "response")
    return b, start


def logged(events: list[Any], node_id: str) -> list[str]:
    return [e.message for e in events if e.kind == "log" and e.node_id == node_id]
