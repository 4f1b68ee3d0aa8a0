"""AI/Processing: pages to Markdown, RAKE and YAKE keywords, and the model-driven keyword, PII, summary and section nodes."""

from __future__ import annotations

import pytest
from engine_testkit import BoardBuilder, run_pure
import ai_testkit
from ai_testkit import load_bit

ai = ai_testkit.ai  # the shared fixture, used by name
stub = ai_testkit.stub  # the shared fixture, used by name


TEXT = ("Compatibility of systems of linear constraints over the set of natural numbers. Criteria of compatibility "
        "of a system of linear Diophantine equations, strict inequations, and nonstrict inequations are considered.")
GERMAN = ("Die Bundesregierung hat heute ein neues Klimaschutzgesetz beschlossen. Das Klimaschutzgesetz soll den "
          "Ausstoß von Treibhausgasen bis zum Jahr 2030 deutlich senken, sagte die Umweltministerin in Berlin.")


def to_markdown(pages):
    b = BoardBuilder()
    start = b.add("events_simple")
    node = b.add("ai_processing_pages_to_markdown", pages=pages)
    ret = b.add("events_generic_return_result")
    b.chain(start, node, ret)
    b.connect(node, "markdown", ret, "response")
    return b.run(start)


def test_pages_to_markdown_single_and_several_pages():
    """One page is its content; several get a rule and a 'Page N' heading each, joined by newlines."""
    assert to_markdown([{"page_number": 1, "content": "# Hi", "images": []}]).result == "# Hi"
    pages = [{"page_number": 1, "content": "one", "images": []}, {"page_number": 2, "content": "two", "images": []}]
    assert to_markdown(pages).result == "\n---\n## Page 1\n\none\n\n---\n## Page 2\n\ntwo"
    assert to_markdown([]).result == ""


@pytest.mark.parametrize("pages, message", [
    ("text", "input 'pages' must be an array, got string"),
    ([{"content": "x"}], "input 'pages': element 0 needs a 'page_number' (a non-negative integer) and a 'content' string"),
    ([{"page_number": 1, "content": 5}], "input 'pages': element 0 needs a 'page_number' (a non-negative integer) and a 'content' string"),
])
def test_pages_to_markdown_bad_pages(pages, message):
    """Pages of the wrong shape fail the node."""
    assert to_markdown(pages).error["message"] == message


def test_rake_ranks_multi_word_phrases_first():
    """RAKE scores phrases by word degree/frequency; the longest co-occurring phrase ranks first."""
    keywords = run_pure("ai_processing_rake_extraction", "keywords", text=TEXT, language="en").result
    assert keywords[:4] == ["linear diophantine equations", "linear constraints", "nonstrict inequations",
                            "strict inequations"]
    limited = run_pure("ai_processing_rake_extraction", "keywords", text=TEXT, language="en", max_keywords=2,
                       min_score=0.0).result
    assert limited == keywords[:2]
    assert run_pure("ai_processing_rake_extraction", "keywords", text=TEXT, language="en", min_score=4.5).result == [
        "linear diophantine equations", "linear constraints"]


def test_rake_custom_stop_words_and_auto_language():
    """Custom stop words replace the language's list; 'auto' picks German stop words for German text."""
    custom = run_pure("ai_processing_rake_extraction", "keywords", text="red apples and green pears",
                      stop_words=["and"]).result
    assert custom == ["green pears", "red apples"]
    german = run_pure("ai_processing_rake_extraction", "keywords", text=GERMAN).result
    assert "klimaschutzgesetz" in german and not any(w in {"die", "das", "den", "zum"} for p in german for w in p.split())
    assert run_pure("ai_processing_rake_extraction", "keywords", text="").result == []


@pytest.mark.parametrize("inputs, message", [
    ({"text": 1}, "input 'text' must be a string, got integer"),
    ({"text": "x", "language": "xx"}, "input 'language' must be one of auto, en, de, fr, es, it, pt, nl, pl, ru, tr, "
                                      "sv, da, no, fi, got 'xx'"),
    ({"text": "x", "stop_words": [1]}, "input 'stop_words' must contain only strings"),
    ({"text": "x", "max_keywords": "3"}, "input 'max_keywords' must be a 64-bit integer, got string"),
])
def test_rake_bad_inputs(inputs, message):
    """Wrong types, an unknown language or non-string stop words fail the node."""
    assert run_pure("ai_processing_rake_extraction", "keywords", **inputs).error["message"] == message


def test_yake_finds_the_topic_terms():
    """YAKE returns at most 'max_keywords' keywords, the most characteristic terms first."""
    keywords = run_pure("ai_processing_yake_extraction", "keywords", text=TEXT, language="en", max_keywords=5,
                        ngrams=2).result
    assert len(keywords) == 5 and all(len(k.split()) <= 2 for k in keywords)
    assert any("inequations" in k or "compatibility" in k.lower() for k in keywords)
    german = run_pure("ai_processing_yake_extraction", "keywords", text=GERMAN, max_keywords=3).result
    assert any("Klimaschutzgesetz" in k for k in german)
    assert run_pure("ai_processing_yake_extraction", "keywords", text="   ").result == []


@pytest.mark.parametrize("inputs, message", [
    ({"text": TEXT, "dedup_threshold": 2.0}, "input 'dedup_threshold' must be between 0 and 1, got 2.0"),
    ({"text": TEXT, "language": "klingon"}, "input 'language' must be one of auto, en, de, fr, es, it, pt, nl, pl, "
                                            "ru, ar, fi, tr, sv, da, no, got 'klingon'"),
    ({"text": None}, "input 'text' must be a string, got null"),
])
def test_yake_bad_inputs(inputs, message):
    """An out-of-range threshold, an unknown language or a non-string text fail the node."""
    assert run_pure("ai_processing_yake_extraction", "keywords", **inputs).error["message"] == message


def test_heavy_libraries_load_only_when_used():
    """Importing the engine does not import yake, py3langid, stop_words or semantic_text_splitter."""
    import subprocess
    import sys

    code = ("import sys, boardrun.engine as e; e.catalog(); "
            "print(any(m in sys.modules for m in ('yake', 'py3langid', 'stop_words', 'semantic_text_splitter')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


PII_TEXT = "Write to Ann at ann@example.com, Ann answers fast."


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
    masked = _run("processing_pii_mask_ai", "masked_text", text=PII_TEXT, mask_text="[X]")
    assert masked.result == "Write to [X] at [X], [X] answers fast.", masked.error
    detections = _run("processing_pii_mask_ai", "detections", text=PII_TEXT).result
    assert [d["original"] for d in detections] == ["Ann", "ann@example.com"]
    assert _run("processing_pii_mask_ai", "detection_count", text=PII_TEXT).result == 2


def test_processing_nodes_fail_when_the_model_does_not_call_the_tool(ai):
    """A model answering in prose instead of calling the tool fails the node, saying so."""
    result = _run("processing_pii_mask_ai", "masked_text", model="local:coder", text=PII_TEXT)
    assert result.reason == "node_error" and "did not call 'report_pii'" in result.error["message"]
    bad = _run("processing_pii_mask_ai", "masked_text", text=PII_TEXT, sensitivity="extreme")
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
