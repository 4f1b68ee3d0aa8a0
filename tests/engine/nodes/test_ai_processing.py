"""AI/Processing: Pages to Markdown, RAKE and YAKE keyword extraction."""

from __future__ import annotations

import pytest

from engine_testkit import BoardBuilder, run_pure

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
