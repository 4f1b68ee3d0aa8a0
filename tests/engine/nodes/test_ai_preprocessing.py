"""AI/Preprocessing: Chunk Text splits along Markdown or plain-text boundaries within the capacity."""

from __future__ import annotations

import json

import pytest

from ai_testkit import configure
from engine_testkit import BoardBuilder
from openai_stub import OpenAIStub

TEXT = "# Title\n\nSome paragraph text here that is long.\n\nAnother one."


@pytest.fixture
def ai(monkeypatch):
    stub = OpenAIStub()  # only its address is configured: chunking calls no server
    configure(monkeypatch, stub, AI_PROVIDERS=json.dumps(
        [{"name": "local", "base_url": stub.base_url, "models": [{"id": "embedder", "type": "Embedding"}]}]))
    yield stub
    stub.server_close()


def _chunk(**inputs):
    b = BoardBuilder()
    start = b.add("events_simple")
    bit = b.add("bit_from_string", bit_id="local:embedder")
    load = b.add("load_model")
    chunk = b.add("chunk_text", **inputs)
    b.chain(start, bit)
    b.connect(bit, "exec_out", load, "exec_in")
    b.connect(bit, "output_bit", load, "bit")
    b.connect(load, "exec_out", chunk, "exec_in")
    b.connect(load, "model", chunk, "model")
    ret = b.add("events_generic_return_result")
    b.connect(chunk, "exec_out", ret, "exec_in")
    b.connect(chunk, "chunks", ret, "response")
    return b.run(start)


def test_markdown_chunks_follow_the_structure(ai):
    """Markdown mode keeps the heading and paragraphs apart; no chunk exceeds the capacity."""
    chunks = _chunk(text=TEXT, capacity=20, overlap=5).result
    assert chunks[0] == "# Title" and chunks[-1] == "Another one."
    assert all(len(c) <= 20 for c in chunks)


def test_plain_text_chunks_split_at_words(ai):
    """Plain-text mode splits at the largest boundaries that fit, here words."""
    assert _chunk(text="hello world foo bar baz", capacity=10, overlap=0, markdown=False).result == [
        "hello", "world foo", "bar baz"]


@pytest.mark.parametrize(("inputs", "message"), [
    ({"capacity": 0}, "capacity"), ({"capacity": 10, "overlap": 10}, "overlap"), ({"overlap": -1}, "overlap"),
])
def test_bad_sizes_fail(ai, inputs, message):
    """A capacity below 1 or an overlap outside 0..capacity-1 fails naming the pin."""
    result = _chunk(text=TEXT, **inputs)
    assert result.reason == "node_error" and message in result.error["message"]
