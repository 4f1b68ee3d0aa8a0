"""AI/Preprocessing: chunk_text_char splits text into bounded, overlapping chunks."""

from __future__ import annotations

import pytest

from engine_testkit import BoardBuilder


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
