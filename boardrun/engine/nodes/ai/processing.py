"""AI/Processing: document pages to Markdown, and keyword extraction (RAKE, YAKE).

Keyword extraction runs in-process and is not interrupted by the run's deadline (like template
rendering); its cost is linear in the text. Libraries (yake, py3langid, stop-words) are
imported on first use.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

from ...coerce import as_float, as_int, as_list, as_str
from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


@register("ai_processing_pages_to_markdown", "Pages to Markdown", "AI/Processing",
          "Joins extracted document pages into one Markdown text, with a heading per page when there are several.",
          [inp("exec_in", "Input", "Execution", description="Join the pages."),
           inp("pages", "Pages", "Struct", "Array", options={"enforce_schema": True}, schema="DocumentPage",
               description="Pages as {page_number, content, images}."),
           out("exec_out", "Output", "Execution", description="Fires once the Markdown is set."),
           out("markdown", "Markdown", "String", description="The joined Markdown.")])
def ai_processing_pages_to_markdown(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    pages = as_list(ctx.get("pages"), "pages")
    parts = []
    for position, page in enumerate(pages):
        number = page.get("page_number") if isinstance(page, dict) else None
        content = page.get("content") if isinstance(page, dict) else None
        if type(number) is not int or number < 0 or not isinstance(content, str):
            raise NodeError(f"input 'pages': element {position} needs a 'page_number' (a non-negative integer) "
                            f"and a 'content' string")
        # Same layout as Flow-Like: a rule and a heading before each page when there is more than one.
        parts.append(f"\n---\n## Page {number}\n\n{content}" if len(pages) > 1 else content)
    ctx.set("markdown", "\n".join(parts))
    ctx.activate("exec_out")


RAKE_LANGUAGES = ["auto", "en", "de", "fr", "es", "it", "pt", "nl", "pl", "ru", "tr", "sv", "da", "no", "fi"]
YAKE_LANGUAGES = ["auto", "en", "de", "fr", "es", "it", "pt", "nl", "pl", "ru", "ar", "fi", "tr", "sv", "da", "no"]
# stop-words names its lists; ISO 639-1 codes for the languages above.
_STOP_WORD_LISTS = {"en": "english", "de": "german", "fr": "french", "es": "spanish", "it": "italian",
                    "pt": "portuguese", "nl": "dutch", "pl": "polish", "ru": "russian", "tr": "turkish",
                    "sv": "swedish", "da": "danish", "no": "norwegian", "fi": "finnish", "ar": "arabic"}


def _language(text: str, requested: str, supported: list[str]) -> str:
    if requested not in supported:
        raise NodeError(f"input 'language' must be one of {', '.join(supported)}, got '{requested}'")
    if requested != "auto":
        return requested
    detected = _identifier(tuple(supported[1:])).classify(text)[0] if text.strip() else "en"
    return detected if detected in supported else "en"  # as Flow-Like: English when unsure


@functools.cache
def _identifier(languages: tuple[str, ...]) -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE)  # the model bundled with py3langid
    identifier.set_languages(list(languages))  # only what the node supports: fewer wrong guesses
    return identifier


@functools.cache
def _stop_words(language: str) -> frozenset[str]:
    from stop_words import get_stop_words

    return frozenset(word.lower() for word in get_stop_words(_STOP_WORD_LISTS[language]))


_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_PHRASE_BREAK = re.compile(r"[.,;:!?()\[\]{}\"“”„«»\n\t]+|\s[-–—]\s")


def rake(text: str, stop_words: frozenset[str]) -> list[tuple[str, float]]:
    """Rapid Automatic Keyword Extraction: candidate phrases are runs of words between stop words
    and punctuation; a word scores degree/frequency over all candidates, a phrase the sum of its
    words. Returns (phrase, score) best first, each phrase once (lower case)."""
    phrases: list[list[str]] = []
    for fragment in _PHRASE_BREAK.split(text.lower()):
        current: list[str] = []
        for word in _WORD.findall(fragment):
            if word in stop_words or word.isdigit():
                if current:
                    phrases.append(current)
                current = []
            else:
                current.append(word)
        if current:
            phrases.append(current)
    frequency: dict[str, int] = {}
    degree: dict[str, int] = {}
    for phrase in phrases:
        for word in phrase:
            frequency[word] = frequency.get(word, 0) + 1
            degree[word] = degree.get(word, 0) + len(phrase)
    scores: dict[str, float] = {}
    for phrase in phrases:
        scores.setdefault(" ".join(phrase), sum(degree[w] / frequency[w] for w in phrase))
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


@register("ai_processing_rake_extraction", "RAKE Keywords", "AI/Processing",
          "Finds key phrases in a text with RAKE (phrases between stop words, scored by word co-occurrence).",
          [inp("text", "Text", "String", default="", description="The text to analyse."),
           inp("language", "Language", "String", default="auto", options={"valid_values": RAKE_LANGUAGES},
               description="Stop-word language; 'auto' detects it."),
           inp("stop_words", "Stop Words", "String", "HashSet", default=[],
               description="Your own stop words; when given they replace the language's list."),
           inp("min_score", "Min Score", "Float", default=0.0, description="Drop phrases scoring lower."),
           inp("max_keywords", "Max Keywords", "Integer", default=0, description="At most this many; 0 means all."),
           out("keywords", "Keywords", "String", "HashSet", description="The key phrases, best first.")])
def ai_processing_rake_extraction(ctx: NodeContext) -> None:
    text = as_str(ctx.get("text"), "text")
    custom = as_list(ctx.get("stop_words"), "stop_words")
    min_score = as_float(ctx.get("min_score"), "min_score")
    limit = as_int(ctx.get("max_keywords"), "max_keywords")
    language = as_str(ctx.get("language"), "language")
    if custom:
        # Flow-Like skips non-string entries silently; a wrong entry here is a board mistake worth naming.
        if not all(isinstance(word, str) for word in custom):
            raise NodeError("input 'stop_words' must contain only strings")
        stop_words = frozenset(word.lower() for word in custom)
        if language not in RAKE_LANGUAGES:
            raise NodeError(f"input 'language' must be one of {', '.join(RAKE_LANGUAGES)}, got '{language}'")
    else:
        stop_words = _stop_words(_language(text, language, RAKE_LANGUAGES))
    ranked = [phrase for phrase, score in rake(text, stop_words) if score >= min_score]
    ctx.set("keywords", ranked[:limit] if limit > 0 else ranked)


@register("ai_processing_yake_extraction", "YAKE Keywords", "AI/Processing",
          "Finds keywords in a text with YAKE (statistical features of each term, no training).",
          [inp("text", "Text", "String", default="", description="The text to analyse."),
           inp("language", "Language", "String", default="auto", options={"valid_values": YAKE_LANGUAGES},
               description="Stop-word language; 'auto' detects it."),
           inp("ngrams", "N-grams", "Integer", default=2, description="Longest keyword in words (1 to 3)."),
           inp("max_keywords", "Max Keywords", "Integer", default=10, description="How many keywords (at least 1)."),
           inp("dedup_threshold", "Dedup Threshold", "Float", default=0.9,
               description="Similarity above which near-duplicate keywords are dropped (0 to 1)."),
           out("keywords", "Keywords", "String", "HashSet", description="The keywords, best first.")])
def ai_processing_yake_extraction(ctx: NodeContext) -> None:
    text = as_str(ctx.get("text"), "text")
    ngrams = min(3, max(1, as_int(ctx.get("ngrams"), "ngrams")))
    top = max(1, as_int(ctx.get("max_keywords"), "max_keywords"))
    dedup = as_float(ctx.get("dedup_threshold"), "dedup_threshold")
    if not 0.0 <= dedup <= 1.0:
        raise NodeError(f"input 'dedup_threshold' must be between 0 and 1, got {dedup}")
    language = _language(text, as_str(ctx.get("language"), "language"), YAKE_LANGUAGES)
    if not text.strip():
        ctx.set("keywords", [])
        return
    import yake

    extractor = yake.KeywordExtractor(lan=language, n=ngrams, dedupLim=dedup, top=top)
    ctx.set("keywords", [keyword for keyword, _ in extractor.extract_keywords(text)])
