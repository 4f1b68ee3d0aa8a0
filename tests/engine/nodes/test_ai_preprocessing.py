"""AI/Preprocessing: character and semantic chunking of text."""

from __future__ import annotations

import pytest
from engine_testkit import BoardBuilder
import json
from ai_testkit import configure
from openai_stub import OpenAIStub


def chunk(text, **inputs):
    b = BoardBuilder()
    start = b.add("events_simple")
    node = b.add("chunk_text_char", text=text, **inputs)
    ret = b.add("events_generic_return_result")
    b.chain(start, node, ret)
    b.connect(node, "chunks", ret, "response")
    return b.run(start)


def test_plain_text_chunks_respect_capacity_and_overlap():
    """Every chunk fits the capacity, neighbours share words, and together they cover the text."""
    text = " ".join(f"word{i}" for i in range(60))
    chunks = chunk(text, capacity=40, overlap=12, markdown=False).result
    assert len(chunks) > 1 and all(len(c) <= 40 for c in chunks)
    assert all(set(a.split()) & set(b.split()) for a, b in zip(chunks, chunks[1:]))
    assert {w for c in chunks for w in c.split()} == set(text.split())


def test_markdown_mode_splits_at_headings():
    """With 'Markdown' on, sections become their own chunks rather than being cut mid-heading."""
    doc = "# Title\n\nSome text here.\n\n## Sub\n\nMore text there and more."
    assert chunk(doc, capacity=30, overlap=0, markdown=True).result == [
        "# Title\n\nSome text here.", "## Sub", "More text there and more."]


def test_default_capacity_keeps_short_text_whole():
    """With the catalogue defaults a short text is one chunk."""
    assert chunk("short text").result == ["short text"]


@pytest.mark.parametrize("inputs, message", [
    ({"capacity": 0}, "input 'capacity' must be at least 1"),
    ({"capacity": 10, "overlap": 10}, "input 'overlap' must be at least 0 and below the capacity (10), got 10"),
    ({"overlap": -1}, "input 'overlap' must be at least 0 and below the capacity (512), got -1"),
    ({"markdown": "yes"}, "input 'markdown' must be a boolean, got string"),
])
def test_bad_inputs(inputs, message):
    """Impossible sizes and wrong types fail the node with the pin named."""
    assert chunk("text", **inputs).error["message"] == message


def test_missing_text_fails():
    """The text pin has no default: running without one fails."""
    b = BoardBuilder()
    start = b.add("events_simple")
    node = b.add("chunk_text_char")
    b.chain(start, node)
    assert b.run(start).error["message"] == "input 'text' is not connected and has no default value"


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
