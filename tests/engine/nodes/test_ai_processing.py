"""AI/Processing: AI Keywords and PII Mask (AI) against a real OpenAI-compatible server."""

from __future__ import annotations

import pytest

from ai_testkit import configure, load_bit
from engine_testkit import BoardBuilder
from openai_stub import OpenAIStub

TEXT = "Write to Ann at ann@example.com, Ann answers fast."


@pytest.fixture(scope="module")
def stub():
    server = OpenAIStub().start()
    yield server
    server.stop()


@pytest.fixture
def ai(stub, monkeypatch):
    configure(monkeypatch, stub)
    with stub.lock:
        stub.requests.clear()
    return stub


def _run(node: str, output: str, model: str = "local:tools", **inputs):
    """Run ``node`` after loading ``model`` and return the value of ``output``."""
    b = BoardBuilder()
    start = b.add("events_simple")
    bit = load_bit(b, model, start)
    step = b.add(node, **inputs)
    b.connect(bit, "exec_out", step, "exec_in")
    b.connect(bit, "output_bit", step, "model")
    ret = b.add("events_generic_return_result")
    b.connect(step, "exec_out", ret, "exec_in")
    b.connect(step, output, ret, "response")
    return b.run(start)


def test_keywords_are_unique_and_capped(ai):
    """AI Keywords returns each keyword once, blanks dropped, at most Max Keywords."""
    assert _run("ai_processing_ai_keyword_extraction", "keywords", text="x", max_keywords=5).result == ["Paris", "weather"]
    assert _run("ai_processing_ai_keyword_extraction", "keywords", text="x", max_keywords=1).result == ["Paris"]
    (request, _) = ai.chat_requests("tools")
    assert "up to 5 keywords" in request["body"]["messages"][0]["content"]
    assert request["body"]["tool_choice"] == {"type": "function", "function": {"name": "submit_keywords"}}


def test_pii_mask_replaces_every_occurrence_of_what_the_model_found(ai):
    """Findings that occur in the text are masked everywhere; findings that do not are dropped."""
    masked = _run("processing_pii_mask_ai", "masked_text", text=TEXT, mask_text="[X]")
    assert masked.result == "Write to [X] at [X], [X] answers fast.", masked.error
    detections = _run("processing_pii_mask_ai", "detections", text=TEXT).result
    assert [d["original"] for d in detections] == ["Ann", "ann@example.com"]
    assert _run("processing_pii_mask_ai", "detection_count", text=TEXT).result == 2


def test_processing_nodes_fail_when_the_model_does_not_call_the_tool(ai):
    """A model answering in prose instead of calling the tool fails the node, saying so."""
    result = _run("processing_pii_mask_ai", "masked_text", model="local:coder", text=TEXT)
    assert result.reason == "node_error" and "did not call 'report_pii'" in result.error["message"]
    bad = _run("processing_pii_mask_ai", "masked_text", text=TEXT, sensitivity="extreme")
    assert "sensitivity" in bad.error["message"]


PAGES = [{"page_number": 1, "content": "a" * 400, "images": []}, {"page_number": 2, "content": "b" * 400, "images": []}]


def test_summary_of_pages_that_fit_one_call(ai):
    """Pages within the token budget are summarized in one forced call: Flow-Like's DocumentSummary."""
    result = _run("ai_processing_summarize_document", "summary", pages=PAGES, max_context_tokens=8000)
    assert result.result == {"summary": "A short text.", "keywords": ["text"],
                             "page_references": [{"topic": "intro", "pages": [1]}]}, result.error
    (request,) = ai.chat_requests("tools")
    system, user = request["body"]["messages"]
    assert "table of contents" in system["content"]
    assert user["content"][0]["text"].startswith("--- Page 1 ---") and "--- Page 2 ---" in user["content"][0]["text"]


def test_summary_of_many_groups_is_merged(ai):
    """Pages over the budget are summarized in groups, then merged; every group's topics are kept."""
    result = _run("ai_processing_summarize_document", "summary", pages=PAGES, max_context_tokens=100)
    assert len(ai.chat_requests("tools")) == 3  # two groups and the merge
    assert result.result["page_references"] == [{"topic": "intro", "pages": [1]}] * 2
    assert _run("ai_processing_summarize_document", "summary", pages=[]).result["summary"] == ""


def test_sections_are_collected_from_every_group(ai):
    """Extract Content Sections asks per page group and concatenates the sections."""
    result = _run("ai_processing_extract_content_sections", "sections", pages=PAGES, max_context_tokens=100)
    assert [s["title"] for s in result.result] == ["Intro", "Intro"], result.error
    bad = _run("ai_processing_extract_content_sections", "sections", pages=[{"page_number": "x"}])
    assert bad.reason == "node_error" and "DocumentPage" in bad.error["message"]
