"""A small HTTP server speaking the OpenAI chat completions and embeddings API, for tests.

It listens on 127.0.0.1 and behaves by model name, so one server covers every case:

- any other model: answers "You said: <last user text>" (streamed word by word when asked);
- ``tools``: asks for the first offered tool, or for tool X when the last user text is "call X"
  (arguments from ``TOOL_ARGUMENTS`` by tool name, else ``{"city": "Paris"}``) until the history
  holds a tool result, then answers "Tool said: <result>";
- ``vision``: describes the images of the last user message: "Saw: PNG 1224x1584, ..." (sizes read
  from the PNG, GIF or JPEG bytes of the data: URLs), or "Saw no image";
- ``ratelimited``: answers 429 with ``Retry-After: 0`` to the first two requests, then echoes;
- ``broken``: 500 every time; ``garbage``: 200 with a body that is not JSON;
- ``leaky``: 401 whose message repeats the caller's Authorization header;
- ``slow``: streams one chunk every 50 ms until the client goes away (or 60 s pass);
- ``hang``: sends nothing until the client goes away (or 60 s pass).

Embeddings embed each text (or, in the multimodal ``messages`` form, the first image URL) as
``[length, count of 'a', 1.0]``.

Every request is recorded (path, lower-cased headers, JSON body) in ``server.requests``.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


TOOL_ARGUMENTS = {
    "decide": {"decision": True, "reason": "it is"},
    "think": {"thought": "check the map"},
    "submit_summary": {"summary": "A short text.", "keywords": ["text"],
                       "page_references": [{"topic": "intro", "pages": [1]}]},
    "submit_sections": {"sections": [{"title": "Intro", "summary": "Opens.", "keywords": ["start"],
                                      "page_references": [1]}]},
    "submit_keywords": {"keywords": ["Paris", "weather", "Paris", " "]},
    "execute_sql": {"query": "SELECT name FROM people ORDER BY age DESC LIMIT 1"},
    "describe_table": {"table_name": "people"},
    "add": {"a": 2, "b": 3},
    "submit_extraction_strategy": {"tables": [
        {"table_name": "Sales", "header_row": 1, "data_start_row": 2, "data_end_row": 5, "start_column": 0,
         "end_column": 2, "skip_rows": [4]},
        {"header_row": 6, "data_start_row": 7, "start_column": 0, "skip_rows": [], "header_names": ["K", "V"]}],
        "reasoning": "two tables"},
    "report_pii": {"detections": [{"pii_type": "name", "original": "Ann"},
                                  {"pii_type": "email", "original": "ann@example.com", "context": "contact"},
                                  {"pii_type": "name", "original": "Bob"}]},
}


def _image_sizes(messages: list[dict[str, Any]]) -> list[str]:
    """'KIND WxH' of each data: URL image of the last user message (read from the image header)."""
    import base64
    import struct

    user = next((m for m in reversed(messages) if m.get("role") == "user"), {})
    sizes = []
    for part in user.get("content") if isinstance(user.get("content"), list) else []:
        url = part.get("image_url", {}).get("url", "") if part.get("type") == "image_url" else ""
        if not url.startswith("data:"):
            continue
        data = base64.b64decode(url.split(",", 1)[1])
        if data[:8] == b"\x89PNG\r\n\x1a\n":
            sizes.append("PNG %dx%d" % struct.unpack(">II", data[16:24]))
        elif data[:3] == b"GIF":
            sizes.append("GIF %dx%d" % struct.unpack("<HH", data[6:10]))
        else:
            sizes.append(f"{url[5:url.index(';')]} {len(data)} bytes")
    return sizes


def _last_text(messages: list[dict[str, Any]], role: str) -> str:
    for message in reversed(messages):
        if message.get("role") == role:
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(p.get("text", "") for p in content if p.get("type") == "text")
            return content or ""
    return ""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "OpenAIStub"

    def log_message(self, *args: Any) -> None:
        pass

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _event(self, data: Any) -> None:
        line = b"data: " + (data if isinstance(data, bytes) else json.dumps(data).encode()) + b"\n\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
        self.wfile.flush()

    def _stream_start(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _stream_end(self) -> None:
        self._event(b"[DONE]")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        with self.server.lock:
            self.server.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
            count = sum(1 for r in self.server.requests if r["body"].get("model") == body.get("model"))
        if self.path == "/v1/embeddings":
            return self._embeddings(body)
        if self.path != "/v1/chat/completions":
            return self._json(404, {"error": {"message": f"no route {self.path}"}})
        model = body.get("model")
        if model == "broken":
            return self._json(500, {"error": {"message": "the model crashed"}})
        if model == "garbage":
            return self._json(200, b"<html>not json</html>")
        if model == "leaky":
            return self._json(401, {"error": {"message": f"bad key in {self.headers.get('Authorization')}"}})
        if model == "ratelimited" and count <= 2:
            return self._json(429, {"error": {"message": "slow down"}}, {"Retry-After": "0"})
        if model in ("slow", "hang"):
            return self._endless(body, model)
        if model == "tools":
            return self._tools(body)
        if model == "vision":
            sizes = _image_sizes(body["messages"])
            return self._answer(body, "Saw: " + ", ".join(sizes) if sizes else "Saw no image")
        return self._answer(body, "You said: " + _last_text(body["messages"], "user"))

    def _answer(self, body: dict[str, Any], text: str) -> None:
        model = body["model"]
        if not body.get("stream"):
            return self._json(200, {
                "id": "cmpl-1", "object": "chat.completion", "created": 1700000000, "model": model,
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}})
        self._stream_start()
        words = text.split(" ")
        for position, word in enumerate(words):
            delta: dict[str, Any] = {"content": word if position == 0 else " " + word}
            if position == 0:
                delta["role"] = "assistant"
            self._event({"id": "cmpl-1", "object": "chat.completion.chunk", "created": 1700000000, "model": model,
                         "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        self._event({"id": "cmpl-1", "object": "chat.completion.chunk", "created": 1700000000, "model": model,
                     "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        self._event({"id": "cmpl-1", "object": "chat.completion.chunk", "created": 1700000000, "model": model,
                     "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": len(words),
                                              "total_tokens": 5 + len(words)}})
        self._stream_end()

    def _tools(self, body: dict[str, Any]) -> None:
        if any(m.get("role") == "tool" for m in body["messages"]):
            return self._answer(body, "Tool said: " + _last_text(body["messages"], "tool"))
        offered = [t["function"]["name"] for t in body["tools"]]
        asked = _last_text(body["messages"], "user").removeprefix("call ")
        name = asked if asked in offered else offered[0]
        arguments = json.dumps(TOOL_ARGUMENTS.get(name, {"city": "Paris"}))
        call = {"id": "call-1", "type": "function", "function": {"name": name, "arguments": arguments}}
        if not body.get("stream"):
            return self._json(200, {
                "id": "cmpl-2", "object": "chat.completion", "created": 1700000000, "model": "tools",
                "choices": [{"index": 0, "finish_reason": "tool_calls",
                             "message": {"role": "assistant", "content": None, "tool_calls": [call]}}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}})
        self._stream_start()
        half = len(arguments) // 2  # the arguments arrive in two pieces, as real streams split them
        first = {**call, "index": 0, "function": {"name": name, "arguments": arguments[:half]}}
        rest = {"index": 0, "function": {"arguments": arguments[half:]}}
        for delta in ({"role": "assistant", "tool_calls": [first]}, {"tool_calls": [rest]}):
            self._event({"id": "cmpl-2", "object": "chat.completion.chunk", "created": 1700000000, "model": "tools",
                         "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        self._event({"id": "cmpl-2", "object": "chat.completion.chunk", "created": 1700000000, "model": "tools",
                     "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
        self._stream_end()

    def _endless(self, body: dict[str, Any], model: str) -> None:
        self._stream_start()
        until = time.monotonic() + 60
        try:
            while time.monotonic() < until and not self.server.stopping.is_set():
                if model == "slow":
                    self._event({"id": "cmpl-3", "object": "chat.completion.chunk", "created": 1700000000,
                                 "model": model, "choices": [{"index": 0, "delta": {"content": "tick "}}]})
                self.server.stopping.wait(0.05)
        except OSError:
            return  # the client went away

    def _embeddings(self, body: dict[str, Any]) -> None:
        if body.get("model") == "broken":
            return self._json(500, {"error": {"message": "the model crashed"}})
        if "messages" in body:
            # The multimodal form (vLLM's): embed each image_url part by the length of its URL.
            texts = [part["image_url"]["url"] for message in body["messages"] for part in message["content"]
                     if part.get("type") == "image_url"][:1]
        else:
            texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [{"object": "embedding", "index": i, "embedding": [float(len(t)), float(t.count("a")), 1.0]}
                for i, t in enumerate(texts)]
        self._json(200, {"object": "list", "data": data, "model": body.get("model"),
                         "usage": {"prompt_tokens": 1, "total_tokens": 1}})


class OpenAIStub(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def start(self) -> "OpenAIStub":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()

    def chat_requests(self, model: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["path"] == "/v1/chat/completions"
                    and (model is None or r["body"].get("model") == model)]
