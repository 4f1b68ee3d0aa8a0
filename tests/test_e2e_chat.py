"""A chat board built only from Flow-Like's nodes, end to end: POST /jobs/submit to the embedded
server, the executor calls a real OpenAI-compatible server on 127.0.0.1 through the SDK, and the
answer streams back over GET /jobs/{id}/events (Server-Sent Events)."""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
import pytest

from boardrun import services
from boardrun.testing.boards import BoardBuilder
from tests.engine.openai_stub import OpenAIStub
from tests.jobs.conftest import sign_in

KEY = "sk-e2e-0123456789abcdef"
CHAT = {"chat_id": "c1", "messages": [{"role": "user", "content": "hello board"}]}


@pytest.fixture
def stub():
    server = OpenAIStub().start()
    yield server
    server.stop()


@pytest.fixture
def ai_env(stub, monkeypatch):
    """The executor inherits the server's environment: the default provider is the stub, plus a
    provider 'flaky' whose only model always answers 500."""
    for key in list(os.environ):
        if key.startswith(("AI_", "OPENAI_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("OPENAI_BASE_URL", stub.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("AI_DEFAULT_MODEL", "echo")
    monkeypatch.setenv("AI_MAX_RETRIES", "0")
    monkeypatch.setenv("AI_PROVIDERS", json.dumps([{"name": "flaky", "base_url": stub.base_url, "api_key_env": "OPENAI_API_KEY",
                                                     "models": [{"id": "broken"}]}]))
    services.reset()


@pytest.fixture
def chat_workspace(ai_env, server):
    client = server.client()
    headers = sign_in(client, "chat@example.com")
    app_id = client.post("/api/v1/apps", json={"name": "Chat"}, headers=headers).json()["id"]
    yield client, headers, app_id
    client.close()


def chat_board(model_bit_id: str | None = None) -> dict:
    """Chat Event → Find Model (or Load Bit) → Set System Message → Invoke Model; each chunk is pushed
    with Push Chunk, the whole answer with Push Response."""
    b = BoardBuilder()
    chat = b.add("events_chat", "chat")
    if model_bit_id is None:
        prefs = b.add("ai_generative_make_preferences", "prefs")
        model = b.add("ai_generative_find_model", "find")
        b.connect(prefs, "preferences", model, "preferences")
        model_pin = (model, "model")
    else:
        model = b.add("bit_from_string", "find", bit_id=model_bit_id)
        model_pin = (model, "output_bit")
    b.connect(chat, "exec_out", model, "exec_in")
    system = b.add("ai_generative_set_system_prompt_message", "system", message="Answer briefly.")
    b.connect(model, "exec_out", system, "exec_in")
    b.connect(chat, "history", system, "history")
    invoke = b.add("ai_generative_invoke", "invoke")
    b.connect(system, "exec_out", invoke, "exec_in")
    b.connect(*model_pin, invoke, "model")
    b.connect(system, "history_out", invoke, "history")
    chunk = b.add("events_chat_push_response_chunk", "push-chunk")
    b.connect(invoke, "on_stream", chunk, "exec_in")
    b.connect(invoke, "chunk", chunk, "chunk")
    answer = b.add("events_chat_push_response", "push-answer")
    b.connect(invoke, "done", answer, "exec_in")
    b.connect(invoke, "result", answer, "response")
    return b.build()


def read_sse(client: httpx.Client, path: str, headers: dict[str, str]) -> tuple[list[dict[str, Any]], str]:
    """Every event of the stream until it ends, as {"id", "event", "data"}; plus the raw text."""
    events: list[dict[str, Any]] = []
    raw: list[str] = []
    current: dict[str, Any] = {}
    with client.stream("GET", path, headers=headers, timeout=60) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            raw.append(line)
            if not line:
                if "event" in current:
                    events.append(current)
                current = {}
            elif line.startswith("id: "):
                current["id"] = int(line[4:])
            elif line.startswith("event: "):
                current["event"] = line[7:]
            elif line.startswith("data: "):
                current["data"] = json.loads(line[6:])
    return events, "\n".join(raw)


def _submit(client, headers, app_id, board_id, board) -> str:
    board = {**board, "id": board_id}
    assert client.put(f"/api/v1/apps/{app_id}/board/{board_id}", json=board, headers=headers).status_code == 201
    r = client.post("/jobs/submit", json={"app_id": app_id, "board_id": board_id, "version": "draft",
                                          "payload": CHAT}, headers=headers)
    assert r.status_code == 202, r.text
    return r.json()["job_id"]


def test_chat_board_streams_its_answer_over_sse(chat_workspace, stub):
    """The answer arrives chunk by chunk as chat events, then as a whole response; the stream ends
    with the job's final status, whose result is the chat response; Last-Event-ID resumes; the API
    key appears nowhere."""
    client, headers, app_id = chat_workspace
    job_id = _submit(client, headers, app_id, "chat", chat_board())
    events, raw = read_sse(client, f"/jobs/{job_id}/events", headers)

    chat = [e for e in events if e["event"] == "chat"]
    partial = [e["data"]["data"]["payload"]["chunk"] for e in chat if e["data"]["data"]["type"] == "chat_stream_partial"]
    tokens = "".join(c["choices"][0]["delta"].get("content", "") for c in partial if c["choices"])
    assert tokens == "You said: hello board"
    whole = [e["data"]["data"]["payload"] for e in chat if e["data"]["data"]["type"] == "chat_stream"]
    assert whole[-1]["response"]["choices"][0]["message"]["content"] == "You said: hello board"
    ids = [e["id"] for e in events if "id" in e]
    assert ids == list(range(1, len(ids) + 1))

    status = events[-1]
    assert status["event"] == "status" and "id" not in status
    assert status["data"]["status"] == "completed"
    assert status["data"]["result"]["response"]["choices"][0]["message"]["content"] == "You said: hello board"
    (request,) = stub.chat_requests("echo")
    assert [m["role"] for m in request["body"]["messages"]] == ["system", "user"]
    assert KEY not in raw

    resumed, _ = read_sse(client, f"/jobs/{job_id}/events", {**headers, "Last-Event-ID": str(ids[1])})
    assert [e.get("id") for e in resumed] == [*ids[2:], None]

    job = client.get(f"/jobs/{job_id}", headers=headers).json()
    assert job["result"]["response"]["choices"][0]["message"]["content"] == "You said: hello board"
    assert KEY not in json.dumps(job)


def test_a_failing_provider_fails_the_job_cleanly(chat_workspace, stub):
    """A provider answering 500 fails the job with node_error naming the provider; the stream ends."""
    client, headers, app_id = chat_workspace
    job_id = _submit(client, headers, app_id, "flaky", chat_board("flaky:broken"))
    events, raw = read_sse(client, f"/jobs/{job_id}/events", headers)
    status = events[-1]["data"]
    assert status["status"] == "failed" and status["error"]["code"] == "node_error"
    assert "AI provider 'flaky' answered HTTP 500" in status["error"]["message"]
    assert status["error"]["node_id"] == "invoke"
    assert KEY not in raw


def test_events_endpoint_is_authorised_like_the_job(chat_workspace, server):
    """Another user gets 404, an anonymous caller 401, a malformed Last-Event-ID 422."""
    client, headers, app_id = chat_workspace
    job_id = _submit(client, headers, app_id, "chat", chat_board())
    stranger = sign_in(client, "stranger@example.com")
    assert client.get(f"/jobs/{job_id}/events", headers=stranger).status_code == 404
    assert client.get(f"/jobs/{job_id}/events").status_code == 401
    r = client.get(f"/jobs/{job_id}/events", headers={**headers, "Last-Event-ID": "x"})
    assert r.status_code == 422
